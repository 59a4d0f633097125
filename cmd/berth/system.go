package main

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newSystemDfCommand(g *globals) *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "df [OPTIONS]",
		Short: "show disk usage, with what images share",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, err := g.openImages(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			du, err := s.DiskUsage(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(os.Stdout, 10, 1, 3, ' ', 0)
			defer tw.Flush()
			if verbose {
				fmt.Fprintln(tw, "Images space usage:\n\nREPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS")
				now := time.Now()
				for _, u := range du.Images {
					for _, n := range u.Names {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", n.Repository(), n.Tag(), u.ID.Encoded()[:12],
							since(u.Created, now), humanSize(u.Size), humanSize(u.Shared), humanSize(u.Unique), u.Containers)
					}
				}
				fmt.Fprintln(tw, "\nContainers space usage:\n\nROOTFS\tIMAGE\tSIZE\tCREATED")
				for _, r := range du.Rootfs {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Key, r.Image, humanSize(r.Size), since(r.Created, now))
				}
				return nil
			}
			active := 0
			for _, u := range du.Images {
				if u.Containers > 0 {
					active++
				}
			}
			var rootfsSize int64
			for _, r := range du.Rootfs {
				rootfsSize += r.Size
			}
			fmt.Fprintln(tw, "TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE")
			pct := 0
			if du.LayersSize > 0 {
				pct = int(100 * du.Reclaimable / du.LayersSize)
			}
			fmt.Fprintf(tw, "Images\t%d\t%d\t%s\t%s (%d%%)\n", len(du.Images), active, humanSize(du.LayersSize), humanSize(du.Reclaimable), pct)
			fmt.Fprintf(tw, "Containers\t%d\t%d\t%s\t%s\n", len(du.Rootfs), len(du.Rootfs), humanSize(rootfsSize), humanSize(0))
			fmt.Fprintf(tw, "Image content\t-\t-\t%s\t-\n", humanSize(du.ContentSize))
			return nil
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "show each image's shared and unique size")
	return cmd
}

func newSystemCheckCommand(g *globals) *cobra.Command {
	var repair bool
	cmd := &cobra.Command{
		Use:   "check [--repair]",
		Short: "verify berth's store after a crash, and repair it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, err := g.openImages(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			rep, err := s.Check(ctx, repair)
			if err != nil {
				return err
			}
			for _, p := range rep.Problems {
				fmt.Println(p)
			}
			for _, f := range rep.Content.Findings {
				state := ""
				if f.Repaired {
					state = " (repaired)"
				}
				fmt.Printf("content %s: %s %s%s\n", f.Kind, f.Path, f.Detail, state)
			}
			fmt.Printf("%d blobs, %s checked\n", rep.Content.Blobs, humanSize(rep.Content.Bytes))
			if !rep.OK() && !repair {
				return statusError{1, fmt.Errorf("problems found: run berth system check --repair")}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&repair, "repair", false, "remove what is broken or left over")
	return cmd
}
