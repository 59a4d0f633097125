// Command berth-monitor is the per-container monitor of berth's engine
// (see package engine/monitor). The engine starts it as
//
//	berth-monitor CONTAINER_DIR
//
// in a new session, with the start handshake's socket as descriptor 3.
package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"berth/engine/monitor"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: berth-monitor CONTAINER_DIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	// The monitor's own messages go to a file beside the container's log:
	// it has no terminal once the command that started it is gone.
	if f, err := os.OpenFile(filepath.Join(dir, "monitor.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err == nil {
		slog.SetDefault(slog.New(slog.NewTextHandler(f, nil)))
	}
	if err := monitor.Main(dir, os.NewFile(3, "start handshake")); err != nil {
		slog.Error("monitor failed", "dir", dir, "error", err)
		os.Exit(1)
	}
}
