package main

import (
	"encoding/json"
	"os"

	"github.com/spf13/cobra"

	"berth/runtime/container"
)

func newStateCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "state <container-id>",
		Short: "print the OCI state of a container as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := container.LoadLight(g.root, args[0])
			if err != nil {
				return err
			}
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(st.OCI())
		},
	}
}
