// Package auto opens the snapshotter berth should use: the one named, or,
// when none is, the one already holding snapshots, else overlay if it
// mounts under root, else native. Each gets its own directory under root
// (<root>/overlay, <root>/native), so switching never mixes their data.
package auto

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"berth/snapshot"
	"berth/snapshot/native"
	"berth/snapshot/overlay"
)

// The snapshotter names New accepts.
const (
	Overlay = "overlay"
	Native  = "native"
)

// Names lists the snapshotters New accepts, the preferred first.
func Names() []string { return []string{Overlay, Native} }

// New opens the snapshotter name ("overlay", "native", or "" to choose)
// in its directory under root, and returns it with its name.
//
// Choosing: a snapshotter whose directory already has a metadata
// database is kept (as Docker keeps its prior storage driver), so a
// changed probe result never hides existing images; if both or neither
// have one, overlay is used when Check mounts it under root, else native.
// The choice and its reason are logged.
func New(ctx context.Context, root, name string) (snapshot.Snapshotter, string, error) {
	if name == "" {
		var reason string
		name, reason = choose(ctx, root)
		slog.DebugContext(ctx, "snapshotter chosen", "snapshotter", name, "reason", reason)
	}
	dir := filepath.Join(root, name)
	switch name {
	case Overlay:
		s, err := overlay.New(ctx, dir)
		if err != nil {
			return nil, "", err
		}
		return s, name, nil
	case Native:
		s, err := native.New(ctx, dir)
		if err != nil {
			return nil, "", err
		}
		return s, name, nil
	}
	return nil, "", fmt.Errorf("unknown snapshotter %q (want %q or %q)", name, Overlay, Native)
}

func choose(ctx context.Context, root string) (name, reason string) {
	var prior []string
	for _, n := range Names() {
		if _, err := os.Stat(filepath.Join(root, n, "metadata.db")); err == nil {
			prior = append(prior, n)
		}
	}
	if len(prior) == 1 {
		return prior[0], "it already holds snapshots"
	}
	if err := overlay.Check(ctx, filepath.Join(root, Overlay)); err != nil {
		return Native, "overlay cannot be mounted here: " + err.Error()
	}
	return Overlay, "overlay mounts here"
}
