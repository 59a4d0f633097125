//go:build berthfull

package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"berth/build"
)

// buildWatchDone is what a build that ended by itself tells its watcher.
const buildWatchDone = "done"

// startBuildWatcher starts `berth build-cleanup` in its own session with
// a pipe on its stdin, and returns the function that tells it the build
// ended normally. A build killed -9 closes the pipe without saying so:
// the watcher then removes what the build left (the running RUN
// container, its mount, its snapshot) at once, rather than at the next
// build.
func startBuildWatcher(g *globals) func() {
	self, err := os.Executable()
	if err != nil {
		return func() {}
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return func() {}
	}
	args := []string{"--root", g.root}
	if g.snapshotter != "" {
		args = append(args, "--snapshotter", g.snapshotter)
	}
	if g.runtime != "" {
		args = append(args, "--runtime", g.runtime)
	}
	cmd := exec.Command(self, append(args, "build-cleanup")...)
	cmd.Stdin = pr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	pr.Close()
	if err != nil {
		pw.Close()
		return func() {}
	}
	go func() { _ = cmd.Wait() }()
	return func() {
		_, _ = io.WriteString(pw, buildWatchDone)
		pw.Close()
	}
}

// newBuildCleanupCommand is the watcher's hidden command.
func newBuildCleanupCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "build-cleanup",
		Short:  "remove what a killed build left (started by berth build)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			parent := os.Getppid()
			b, _ := io.ReadAll(io.LimitReader(os.Stdin, 64))
			if string(b) == buildWatchDone {
				return nil
			}
			// The build died. Its locks go with its files, which the
			// kernel closes before it reparents its children: wait for
			// that, so the sweep sees the build's steps unlocked.
			for i := 0; i < 500 && os.Getppid() == parent; i++ {
				time.Sleep(10 * time.Millisecond)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			e, err := g.openEngine(ctx)
			if err != nil {
				return err
			}
			defer e.Close()
			return build.New(e.Images(), runtimeBinary(g)).Cleanup(ctx)
		},
	}
}

// runtimeBinary is --runtime, or berth-runtime beside berth.
func runtimeBinary(g *globals) string {
	if g.runtime != "" {
		return g.runtime
	}
	self, _ := os.Executable()
	return filepath.Join(filepath.Dir(self), "berth-runtime")
}
