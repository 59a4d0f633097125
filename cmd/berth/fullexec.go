//go:build !berthfull

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"berth/image"
)

// The commands whose packages are heavy live in berth-full, beside berth:
// the same command line built with the berthfull tag. The Dockerfile
// builder pulls in BuildKit and protobuf; pull, push, login, logout and
// manifest the registry client (go-containerregistry, net/http, TLS);
// dns-serve, a user network's name server, miekg/dns.
// Their package initialization and the larger binary cost every berth
// command's start about 2 ms of CPU (`berth run --zzz`, perf stat: 6.5-7.7
// ms with the registry client and the name server, 4.0-5.2 ms without).
// They become berth-full with the same arguments, process unchanged (a
// kill still reaches it), as Docker's CLI hands builds to buildx; run and
// create start it only to pull an image (pullForRun).

// fullCommand is a command berth-full runs: it parses the flags, and
// `berth help NAME` shows its help.
func fullCommand(use, short string, hidden bool) *cobra.Command {
	cmd := &cobra.Command{
		Use:                use,
		Short:              short,
		Hidden:             hidden,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return execFull()
		},
	}
	cmd.SetHelpFunc(func(c *cobra.Command, _ []string) {
		err := execFull()
		fmt.Fprintln(c.ErrOrStderr(), "berth:", err)
		os.Exit(125)
	})
	return cmd
}

// newBuildCommand is `berth build` (and `berth image build`).
func newBuildCommand(g *globals) *cobra.Command {
	return fullCommand("build [OPTIONS] PATH | -", "build an image from a Dockerfile", false)
}

// newBuildCleanupCommand is the build watcher's hidden command, which
// berth-full starts from itself.
func newBuildCleanupCommand(g *globals) *cobra.Command {
	return fullCommand("build-cleanup", "remove what a killed build left (started by berth build)", true)
}

func newPullCommand(g *globals) *cobra.Command {
	return fullCommand("pull [OPTIONS] NAME[:TAG|@DIGEST]", "download an image from a registry", false)
}

func newPushCommand(g *globals) *cobra.Command {
	return fullCommand("push [OPTIONS] NAME[:TAG]", "upload an image to a registry", false)
}

func newLoginCommand(g *globals) *cobra.Command {
	return fullCommand("login [OPTIONS] [SERVER]", "log in to a registry (Docker Hub if no server is given)", false)
}

func newLogoutCommand(g *globals) *cobra.Command {
	return fullCommand("logout [SERVER]", "log out from a registry (Docker Hub if no server is given)", false)
}

func newManifestCommand(g *globals) *cobra.Command {
	return fullCommand("manifest", "inspect manifests and indexes on a registry", false)
}

// newDNSServeCommand is a user network's name server (the engine starts
// `berth dns-serve`): its server (miekg/dns) is linked into berth-full only.
func newDNSServeCommand(g *globals) *cobra.Command {
	return fullCommand("dns-serve --network ID", "serve a user network's names (started by the engine)", true)
}

func newPullForRunCommand(g *globals) *cobra.Command {
	return fullCommand(pullForRunUse, "pull the image of run or create (started by them)", true)
}

// fullPath is berth-full's path: beside this binary.
func fullPath() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", statusError{125, fmt.Errorf("find berth-full: %w", err)}
	}
	return filepath.Join(filepath.Dir(self), "berth-full"), nil
}

// execFull replaces this process with berth-full, with the same arguments
// and environment; it returns only on failure.
func execFull() error {
	path, err := fullPath()
	if err != nil {
		return err
	}
	err = syscall.Exec(path, append([]string{path}, os.Args[1:]...), os.Environ())
	return statusError{125, fmt.Errorf("run %s: %w", path, err)}
}

// pullForRun pulls the image of `run` or `create` as --pull says
// ("missing", "always" or "never"): when there is one to pull, berth-full
// does it (its pullForRun), in a child that writes the progress and any
// error to standard error itself.
func pullForRun(ctx context.Context, g *globals, s *image.Store, policy, arg string) error {
	if need, err := pullNeeded(ctx, s, policy, arg); !need {
		return err
	}
	path, err := fullPath()
	if err != nil {
		return err
	}
	args := append(g.flags(), pullForRunName, "--pull", policy, "--", arg)
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() > 0 {
		return statusError{exit.ExitCode(), silentExit{}}
	}
	if err != nil {
		return statusError{125, fmt.Errorf("run %s: %w", path, err)}
	}
	return nil
}
