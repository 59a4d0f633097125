package main

import (
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"berth/runtime/container"
)

func newListCommand(g *globals) *cobra.Command {
	var format string
	var quiet bool
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "list containers",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			list, err := container.List(g.root)
			if err != nil {
				return err
			}
			if quiet {
				for _, st := range list {
					fmt.Println(st.ID)
				}
				return nil
			}
			switch format {
			case "json":
				out := make([]container.OCIState, 0, len(list))
				for _, st := range list {
					out = append(out, st.OCI())
				}
				return json.NewEncoder(os.Stdout).Encode(out)
			case "table":
				w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
				fmt.Fprintln(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER")
				for _, st := range list {
					o := st.OCI()
					fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", o.ID, o.Pid, o.Status, o.Bundle,
						o.Created.Format(time.RFC3339Nano), o.Owner)
				}
				return w.Flush()
			}
			return fmt.Errorf("--format: unknown format %q (table or json)", format)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "table", "output format: table or json")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only container ids")
	return cmd
}
