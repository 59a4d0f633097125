package main

import (
	"encoding/json"
	"os"
	"os/signal"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"berth/runtime/container"
)

func newEventsCommand(g *globals) *cobra.Command {
	var stats bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "events [flags] <container-id>",
		Short: "print a container's resource usage and OOM events as JSON lines",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			enc := json.NewEncoder(os.Stdout)
			if stats {
				s, err := container.Stats(g.root, id)
				if err != nil {
					return err
				}
				return enc.Encode(container.Event{Type: "stats", ID: id, Data: s})
			}
			done := make(chan struct{})
			sigs := make(chan os.Signal, 1)
			signal.Notify(sigs, unix.SIGINT, unix.SIGTERM)
			defer signal.Stop(sigs)
			go func() {
				<-sigs
				close(done)
			}()
			return container.Events(g.root, id, interval, done, func(e container.Event) error {
				return enc.Encode(e)
			})
		},
	}
	cmd.Flags().BoolVar(&stats, "stats", false, "print the container's stats once and exit")
	cmd.Flags().DurationVar(&interval, "interval", 5*time.Second, "interval between stats events")
	return cmd
}
