package main

import (
	"github.com/spf13/cobra"

	"berth/engine"
)

// newNetworkConnectCommand is `berth network connect [--ip A] [--alias N]
// NETWORK CONTAINER`, as Docker's.
func newNetworkConnectCommand(g *globals) *cobra.Command {
	var o engine.ConnectOptions
	cmd := &cobra.Command{
		Use:   "connect [OPTIONS] NETWORK CONTAINER",
		Short: "connect a container to a network",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.openEngine(cmd.Context())
			if err != nil {
				return err
			}
			defer e.Close()
			return e.Connect(cmd.Context(), args[1], args[0], o)
		},
	}
	cmd.Flags().StringVar(&o.IP, "ip", "", "IPv4 address on the network (e.g. 172.30.100.104)")
	cmd.Flags().StringArrayVar(&o.Aliases, "alias", nil, "add a network-scoped alias for the container")
	return cmd
}

// newNetworkDisconnectCommand is `berth network disconnect [-f] NETWORK
// CONTAINER`, as Docker's.
func newNetworkDisconnectCommand(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "disconnect [OPTIONS] NETWORK CONTAINER",
		Short: "disconnect a container from a network",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.openEngine(cmd.Context())
			if err != nil {
				return err
			}
			defer e.Close()
			return e.Disconnect(cmd.Context(), args[1], args[0], force)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "force the container to disconnect (also from a network that is gone)")
	return cmd
}
