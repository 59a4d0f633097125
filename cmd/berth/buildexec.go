//go:build !berthbuild

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
)

// The Dockerfile builder lives in berth-build, beside berth: the same
// command line built with the berthbuild tag. Its parser pulls in
// BuildKit and protobuf, whose package initialization cost every berth
// command about a millisecond. `berth build` and `berth image build`
// become berth-build, arguments and process unchanged (a kill of the
// build still reaches the build).

// newBuildCommand is `berth build` (and `berth image build`): it runs
// berth-build, which parses the flags.
func newBuildCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:                "build [OPTIONS] PATH | -",
		Short:              "build an image from a Dockerfile",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return execBuilder()
		},
	}
	// `berth help build` too shows berth-build's help, with the flags.
	cmd.SetHelpFunc(func(c *cobra.Command, _ []string) {
		err := execBuilder()
		fmt.Fprintln(c.ErrOrStderr(), "berth:", err)
		os.Exit(125)
	})
	return cmd
}

// newBuildCleanupCommand is the build watcher's hidden command, which
// berth-build starts from itself; here it goes there too.
func newBuildCleanupCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:                "build-cleanup",
		Short:              "remove what a killed build left (started by berth build)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return execBuilder()
		},
	}
}

// execBuilder replaces this process with berth-build, with the same
// arguments and environment; it returns only on failure.
func execBuilder() error {
	self, err := os.Executable()
	if err != nil {
		return statusError{125, fmt.Errorf("find berth-build: %w", err)}
	}
	path := filepath.Join(filepath.Dir(self), "berth-build")
	err = syscall.Exec(path, append([]string{path}, os.Args[1:]...), os.Environ())
	return statusError{125, fmt.Errorf("run the builder %s: %w", path, err)}
}
