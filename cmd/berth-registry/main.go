// Command berth-registry is berth's OCI registry: `berth registry serve`
// and `berth registry gc` run it. It is a binary of its own because the
// registry library it is built on (distribution) brings grpc,
// OpenTelemetry, Prometheus and Redis clients: linked into berth they would
// add about 10 MB and several milliseconds of init work to every berth
// command.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sys/unix"

	"berth/ship/registry"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, unix.SIGTERM)
	err := newRootCommand().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(125)
	}
}

func newRootCommand() *cobra.Command {
	var debug bool
	root := &cobra.Command{
		Use:           "berth-registry",
		Short:         "berth's OCI registry (run by `berth registry`)",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			level := slog.LevelWarn
			if debug {
				level = slog.LevelDebug
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			slog.SetDefault(log)
			registry.RouteLogs(log)
		},
	}
	root.PersistentFlags().BoolVarP(&debug, "debug", "D", false, "log every request and debug messages")
	root.AddCommand(newServeCommand(), newGCCommand(), newHtpasswdCommand())
	return root
}

func newServeCommand() *cobra.Command {
	var o registry.Options
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "serve an OCI registry from a directory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := registry.New(cmd.Context(), o)
			if err != nil {
				return err
			}
			return s.Serve(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Addr, "addr", "127.0.0.1:5000", "address to listen on")
	f.StringVar(&o.Root, "root", "/var/lib/berth/registry", "directory of the registry's storage")
	f.StringVar(&o.TLSCert, "tls-cert", "", "TLS certificate (PEM); with --tls-key serves HTTPS")
	f.StringVar(&o.TLSKey, "tls-key", "", "TLS private key (PEM)")
	f.StringVar(&o.Htpasswd, "htpasswd", "", "htpasswd file (bcrypt) of the users allowed in")
	return cmd
}

func newGCCommand() *cobra.Command {
	var (
		root string
		o    registry.GCOptions
	)
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "delete blobs no manifest references",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := registry.GC(cmd.Context(), root, o)
			if err != nil {
				return err
			}
			if o.DryRun {
				fmt.Printf("dry run: %d blobs, nothing deleted\n", res.BlobsBefore)
				return nil
			}
			fmt.Printf("deleted %d of %d blobs, %d bytes freed\n", res.BlobsBefore-res.BlobsAfter, res.BlobsBefore, res.BytesFreed)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&root, "root", "/var/lib/berth/registry", "directory of the registry's storage")
	f.BoolVar(&o.DryRun, "dry-run", false, "list what would be deleted, delete nothing")
	f.BoolVar(&o.DeleteUntagged, "delete-untagged", false, "also delete manifests no tag points to")
	f.BoolVarP(&o.Verbose, "verbose", "v", false, "print each repository, manifest and blob marked or swept")
	return cmd
}

// newHtpasswdCommand prints an htpasswd line for --htpasswd: bcrypt, as
// `htpasswd -B` would, for hosts without apache2-utils.
func newHtpasswdCommand() *cobra.Command {
	var cost int
	cmd := &cobra.Command{
		Use:   "htpasswd USER",
		Short: "print an htpasswd line (bcrypt) for USER, the password read from stdin",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			user := args[0]
			if user == "" || strings.ContainsAny(user, ":\n\r") {
				return fmt.Errorf("htpasswd: invalid user name %q", user)
			}
			line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
			if err != nil && line == "" {
				return fmt.Errorf("htpasswd: read password from stdin: %w", err)
			}
			pass := strings.TrimRight(line, "\r\n")
			if pass == "" {
				return errors.New("htpasswd: empty password")
			}
			hash, err := bcrypt.GenerateFromPassword([]byte(pass), cost)
			if err != nil {
				return fmt.Errorf("htpasswd: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s:%s\n", user, hash)
			return nil
		},
	}
	// The registry checks the hash on every request: a lower cost is
	// faster and weaker.
	cmd.Flags().IntVar(&cost, "cost", bcrypt.DefaultCost, fmt.Sprintf("bcrypt cost (%d-%d)", bcrypt.MinCost, bcrypt.MaxCost))
	return cmd
}
