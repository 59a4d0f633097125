package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// registryBinary is the program that serves and collects the registry.
// It is separate from berth so that the registry library's weight (size
// and init work) is paid only by `berth registry` (see cmd/berth-registry).
const registryBinary = "berth-registry"

// newRegistryCommand is `berth registry`: serve and gc, run by
// berth-registry beside berth.
func newRegistryCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "registry", Short: "run berth's OCI registry"}
	cmd.AddCommand(newRegistryServeCommand(g), newRegistryGCCommand(g), newRegistryHtpasswdCommand(g))
	return cmd
}

func newRegistryServeCommand(g *globals) *cobra.Command {
	var addr, root, cert, key, htpasswd string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "serve an OCI registry (distribution spec 1.1) from a directory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if root == "" {
				root = filepath.Join(g.root, "registry")
			}
			argv := []string{"serve", "--addr", addr, "--root", root}
			if cert != "" || key != "" {
				argv = append(argv, "--tls-cert", cert, "--tls-key", key)
			}
			if htpasswd != "" {
				argv = append(argv, "--htpasswd", htpasswd)
			}
			return execRegistry(g, argv)
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:5000", "address to listen on")
	f.StringVar(&root, "root", "", "directory of the registry's storage (default <berth root>/registry)")
	f.StringVar(&cert, "tls-cert", "", "TLS certificate (PEM); with --tls-key the registry speaks HTTPS")
	f.StringVar(&key, "tls-key", "", "TLS private key (PEM)")
	f.StringVar(&htpasswd, "htpasswd", "", "htpasswd file (bcrypt entries) of the users allowed in")
	return cmd
}

func newRegistryGCCommand(g *globals) *cobra.Command {
	var root string
	var dryRun, untagged, verbose bool
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "delete the registry's blobs that no manifest references",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if root == "" {
				root = filepath.Join(g.root, "registry")
			}
			argv := []string{"gc", "--root", root}
			if dryRun {
				argv = append(argv, "--dry-run")
			}
			if untagged {
				argv = append(argv, "--delete-untagged")
			}
			if verbose {
				argv = append(argv, "--verbose")
			}
			return execRegistry(g, argv)
		},
	}
	f := cmd.Flags()
	f.StringVar(&root, "root", "", "directory of the registry's storage (default <berth root>/registry)")
	f.BoolVar(&dryRun, "dry-run", false, "list what would be deleted, delete nothing")
	f.BoolVar(&untagged, "delete-untagged", false, "also delete manifests no tag points to, and their blobs")
	f.BoolVarP(&verbose, "verbose", "v", false, "list every repository, manifest and blob marked or swept")
	return cmd
}

func newRegistryHtpasswdCommand(g *globals) *cobra.Command {
	var cost int
	cmd := &cobra.Command{
		Use:   "htpasswd USER",
		Short: "print an htpasswd line (bcrypt) for USER, the password read from stdin",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// "--": a user name may start with a dash.
			return execRegistry(g, []string{"htpasswd", "--cost", strconv.Itoa(cost), "--", args[0]})
		},
	}
	// bcrypt's default cost; the registry checks the hash on every request.
	cmd.Flags().IntVar(&cost, "cost", 10, "bcrypt cost (4-31): higher is slower to check and to guess")
	return cmd
}

// execRegistry replaces berth with berth-registry (so signals reach the
// server directly and its exit status is berth's).
func execRegistry(g *globals, argv []string) error {
	bin, err := findRegistryBinary()
	if err != nil {
		return err
	}
	// --debug goes before the arguments: after a "--" it would be one.
	head := []string{bin}
	if g.debug {
		head = append(head, "--debug")
	}
	argv = append(head, argv...)
	if err := unix.Exec(bin, argv, os.Environ()); err != nil {
		return fmt.Errorf("exec %s: %w", bin, err)
	}
	return nil
}

// findRegistryBinary looks beside berth first, then in PATH.
func findRegistryBinary() (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), registryBinary)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath(registryBinary)
	if err != nil {
		return "", errors.New(registryBinary + " not found beside berth nor in PATH (make build builds it)")
	}
	return p, nil
}
