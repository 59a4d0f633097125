package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"berth/engine"
)

// openEngine opens the engine under --root, with --runtime.
func (g *globals) openEngine(ctx context.Context) (*engine.Engine, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("berth needs root (rootless mode is not implemented yet)")
	}
	self, _ := os.Executable()
	return engine.Open(ctx, g.root, engine.Options{Runtime: g.runtime, Snapshotter: g.snapshotter,
		Monitor: filepath.Join(filepath.Dir(self), "berth-monitor"), RunRoot: g.runRoot})
}

// exitCodeFor maps a failure to start a container to Docker's codes: 127
// when the program does not exist, 126 when it cannot be run, else 125.
func exitCodeFor(err error) int {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "executable file not found"), strings.Contains(msg, "no such file or directory") && strings.Contains(msg, "exec"):
		return 127
	case strings.Contains(msg, "permission denied") && strings.Contains(msg, "exec"):
		return 126
	}
	return 125
}
