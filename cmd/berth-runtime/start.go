package main

import (
	"github.com/spf13/cobra"

	"berth/runtime/container"
)

func newStartCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "start <container-id>",
		Short: "start the process of a created container",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return container.Start(g.root, args[0])
		},
	}
}
