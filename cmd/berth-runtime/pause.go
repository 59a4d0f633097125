package main

import (
	"github.com/spf13/cobra"

	"berth/runtime/container"
)

func newPauseCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "pause <container-id>",
		Short: "freeze every process of a container",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return container.Pause(g.root, args[0])
		},
	}
}
