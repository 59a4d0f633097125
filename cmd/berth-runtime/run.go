package main

import (
	"github.com/spf13/cobra"

	"berth/runtime/container"
)

func newRunCommand(g *globals) *cobra.Command {
	var c createFlags
	var detach bool
	cmd := &cobra.Command{
		Use:   "run [flags] <container-id>",
		Short: "create and start a container; without --detach wait for it and exit with its status",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			code, err := container.Run(c.options(g, args[0]), detach)
			if err != nil {
				return err
			}
			if code != 0 {
				return exitError{code}
			}
			return nil
		},
	}
	c.register(cmd.Flags())
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "return once the container runs")
	return cmd
}
