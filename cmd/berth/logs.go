package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"berth/engine/logs"
)

func newLogsCommand(g *globals) *cobra.Command {
	var follow, timestamps bool
	var sinceFlag, untilFlag, tail string
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] CONTAINER",
		Short: "show a container's output",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			e, err := g.openEngine(ctx)
			if err != nil {
				return err
			}
			defer e.Close()
			c, err := e.Lookup(ctx, args[0])
			if err != nil {
				return err
			}
			o := logs.ReadOptions{Follow: follow, Tail: -1, Timestamps: timestamps, Stdout: true, Stderr: true}
			if tail != "" && tail != "all" {
				n, err := strconv.Atoi(tail)
				if err != nil {
					return fmt.Errorf("--tail %s: not a number", tail)
				}
				o.Tail = n
			}
			now := time.Now()
			if sinceFlag != "" {
				if o.Since, err = logs.ParseTime(sinceFlag, now); err != nil {
					return fmt.Errorf("--since: %w", err)
				}
			}
			if untilFlag != "" {
				if o.Until, err = logs.ParseTime(untilFlag, now); err != nil {
					return fmt.Errorf("--until: %w", err)
				}
			}
			if follow {
				o.StopWhen = func() bool { return !e.Running(ctx, c.ID) }
			}
			return logs.Read(ctx, e.LogPath(c.ID), o, func(stream string, t time.Time, line []byte) error {
				out := os.Stdout
				if stream == "stderr" {
					out = os.Stderr
				}
				_, err := out.Write(line)
				return err
			})
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&follow, "follow", "f", false, "follow the output")
	f.BoolVarP(&timestamps, "timestamps", "t", false, "show timestamps")
	f.StringVar(&sinceFlag, "since", "", "from this time (RFC 3339, Unix seconds, or a duration like 10m)")
	f.StringVar(&untilFlag, "until", "", "up to this time (same forms)")
	f.StringVarP(&tail, "tail", "n", "all", "the last N lines")
	return cmd
}
