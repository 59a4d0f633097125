package main

import (
	"github.com/spf13/cobra"

	"berth/runtime/container"
)

func newResumeCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "resume <container-id>",
		Short: "thaw a paused container",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return container.Resume(g.root, args[0])
		},
	}
}
