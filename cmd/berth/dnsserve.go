//go:build berthfull

package main

import (
	"context"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	dnsserver "berth/network/dns/server"
)

// newDNSServeCommand is `berth dns-serve --network ID`, hidden: a user
// network's name server, started by the engine (network/dns).
func newDNSServeCommand(g *globals) *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:    "dns-serve --network ID",
		Short:  "serve a user network's names (started by the engine)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			// A while after the last container, for the next run --rm.
			return dnsserver.Serve(ctx, dnsserver.Options{Root: g.root, Network: id, Linger: 30 * time.Second})
		},
	}
	cmd.Flags().StringVar(&id, "network", "", "the network's ID")
	return cmd
}
