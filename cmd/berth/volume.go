package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"berth/engine"
)

// volumeRow is one line of `volume ls`.
type volumeRow struct {
	Driver, Name, Mountpoint, Labels string
}

func newVolumeCommand(g *globals) *cobra.Command {
	vol := &cobra.Command{Use: "volume", Short: "manage volumes"}

	var labels []string
	create := &cobra.Command{
		Use:   "create [OPTIONS] [VOLUME]",
		Short: "create a volume",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.openEngine(cmd.Context())
			if err != nil {
				return err
			}
			defer e.Close()
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			l := map[string]string{}
			for _, kv := range labels {
				k, v, _ := strings.Cut(kv, "=")
				l[k] = v
			}
			v, err := e.VolumeCreate(cmd.Context(), name, l)
			if err != nil {
				return err
			}
			fmt.Println(v.Name)
			return nil
		},
	}
	create.Flags().StringArrayVarP(&labels, "label", "l", nil, "set a label (key=value)")

	var quiet bool
	var format string
	ls := &cobra.Command{
		Use:   "ls [OPTIONS]",
		Short: "list volumes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.openEngine(cmd.Context())
			if err != nil {
				return err
			}
			defer e.Close()
			vols, err := e.VolumeList(cmd.Context())
			if err != nil {
				return err
			}
			var rows []volumeRow
			for _, v := range vols {
				if quiet {
					fmt.Println(v.Name)
					continue
				}
				var l []string
				for k, val := range v.Labels {
					l = append(l, k+"="+val)
				}
				rows = append(rows, volumeRow{Driver: v.Driver, Name: v.Name, Mountpoint: v.Mountpoint, Labels: strings.Join(l, ",")})
			}
			if quiet {
				return nil
			}
			return printRows(os.Stdout, format, "{{.Driver}}\t{{.Name}}",
				map[string]string{"Driver": "DRIVER", "Name": "VOLUME NAME", "Mountpoint": "MOUNTPOINT", "Labels": "LABELS"}, rows)
		},
	}
	ls.Flags().BoolVarP(&quiet, "quiet", "q", false, "only show volume names")
	ls.Flags().StringVar(&format, "format", "", `"table", "json", or a Go template`)

	var inspectFormat string
	inspect := &cobra.Command{
		Use:   "inspect [OPTIONS] VOLUME [VOLUME...]",
		Short: "show volumes in detail, as JSON",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.openEngine(cmd.Context())
			if err != nil {
				return err
			}
			defer e.Close()
			var out []engine.Volume
			for _, a := range args {
				v, err := e.VolumeInspect(cmd.Context(), a)
				if err != nil {
					return statusError{1, err}
				}
				out = append(out, v)
			}
			return printInspect(inspectFormat, out)
		},
	}
	inspect.Flags().StringVarP(&inspectFormat, "format", "f", "", "a Go template applied to each object")

	var force bool
	rm := &cobra.Command{
		Use:   "rm [OPTIONS] VOLUME [VOLUME...]",
		Short: "remove volumes (refused while a container uses one)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.eachContainer(cmd, args, func(e *engine.Engine, name string) error {
				if err := e.VolumeRemove(cmd.Context(), name, force); err != nil {
					return err
				}
				fmt.Println(name)
				return nil
			})
		},
	}
	rm.Flags().BoolVarP(&force, "force", "f", false, "do not fail on a missing volume")

	var all, pforce bool
	var filters []string
	prune := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "remove anonymous volumes no container uses (-a: all unused volumes)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !confirm(pforce, "WARNING! This will remove anonymous local volumes not used by at least one container.") {
				return nil
			}
			e, err := g.openEngine(cmd.Context())
			if err != nil {
				return err
			}
			defer e.Close()
			f, err := parsePruneFilters(filters, time.Now())
			if err != nil {
				return err
			}
			if !f.until.IsZero() {
				return errors.New(`the "until" filter is not supported with volumes`)
			}
			removed, reclaimed, err := e.VolumePrune(cmd.Context(), all, func(v engine.Volume) bool { return f.match(time.Time{}, v.Labels) })
			printSection("Deleted Volumes:", removed)
			fmt.Println("Total reclaimed space:", humanSize(reclaimed))
			return err
		},
	}
	prune.Flags().BoolVarP(&all, "all", "a", false, "remove all unused volumes, not just anonymous ones")
	prune.Flags().BoolVarP(&pforce, "force", "f", false, "do not prompt for confirmation")
	prune.Flags().StringArrayVar(&filters, "filter", nil, "only volumes with label=<key>[=<value>] (or without: label!=)")

	vol.AddCommand(create, ls, inspect, rm, prune)
	return vol
}
