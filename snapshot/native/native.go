// Package native is the copy-based snapshotter, for where overlayfs cannot
// be mounted: an active snapshot starts as a full copy of its parent, and
// every mount is a bind mount.
//
// Layout under root:
//
//	metadata.db          bbolt: key -> {id, parent, kind, created, labels}
//	snapshots/<id>/      the snapshot's whole tree
//
// A view of a parent is a read-only bind of the parent itself (no copy);
// its own directory stays empty.
package native

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"berth/snapshot"
	"berth/snapshot/internal/base"
	"berth/snapshot/internal/fsutil"
	"berth/snapshot/internal/storage"
)

// Snapshotter is the copy-based snapshotter.
type Snapshotter struct {
	b *base.Base
}

var _ snapshot.Snapshotter = (*Snapshotter)(nil)

// New opens (creating if needed) a native snapshotter in root.
func New(ctx context.Context, root string) (*Snapshotter, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("native snapshotter root: %w", err)
	}
	b, err := base.Open(ctx, root)
	if err != nil {
		return nil, err
	}
	return &Snapshotter{b: b}, nil
}

// Prepare creates an active snapshot holding a copy of parent.
func (s *Snapshotter) Prepare(ctx context.Context, key, parent string, opts ...snapshot.Opt) ([]snapshot.Mount, error) {
	return s.create(ctx, snapshot.KindActive, key, parent, opts)
}

// View creates a read-only snapshot of parent.
func (s *Snapshotter) View(ctx context.Context, key, parent string, opts ...snapshot.Opt) ([]snapshot.Mount, error) {
	return s.create(ctx, snapshot.KindView, key, parent, opts)
}

func (s *Snapshotter) create(ctx context.Context, kind snapshot.Kind, key, parent string, opts []snapshot.Opt) ([]snapshot.Mount, error) {
	h := base.Hooks{
		Fill: func(ctx context.Context, dir string, parents []storage.Record) error {
			if kind == snapshot.KindActive && len(parents) > 0 {
				return CopyTree(ctx, dir, s.b.Dir(parents[0].ID))
			}
			// MkdirTemp made it 0700; an empty rootfs is 0755.
			return os.Chmod(dir, 0o755)
		},
	}
	rec, parents, err := s.b.Create(ctx, kind, key, parent, opts, h)
	if err != nil {
		return nil, err
	}
	return s.mounts(rec, parents)
}

// Mounts returns the bind mount of an active or view snapshot.
func (s *Snapshotter) Mounts(ctx context.Context, key string) ([]snapshot.Mount, error) {
	chain, err := s.b.Chain(ctx, key)
	if err != nil {
		return nil, err
	}
	return s.mounts(chain[0], chain[1:])
}

func (s *Snapshotter) mounts(rec storage.Record, parents []storage.Record) ([]snapshot.Mount, error) {
	switch rec.Kind {
	case snapshot.KindActive:
		return []snapshot.Mount{{Type: "bind", Source: s.b.Dir(rec.ID), Options: []string{"rbind", "rw"}}}, nil
	case snapshot.KindView:
		src := s.b.Dir(rec.ID)
		if len(parents) > 0 {
			src = s.b.Dir(parents[0].ID)
		}
		return []snapshot.Mount{{Type: "bind", Source: src, Options: []string{"rbind", "ro"}}}, nil
	}
	return nil, fmt.Errorf("%w: snapshot %q is %s, only active and view snapshots have mounts", snapshot.ErrInvalid, rec.Key, rec.Kind)
}

// Remove deletes a snapshot and its copy.
func (s *Snapshotter) Remove(ctx context.Context, key string) error {
	return s.b.RemoveWith(ctx, key, nil)
}

// Usage returns the size of the snapshot's whole copy.
func (s *Snapshotter) Usage(ctx context.Context, key string) (snapshot.Usage, error) {
	rec, err := s.b.Get(ctx, key)
	if err != nil {
		return snapshot.Usage{}, err
	}
	size, inodes, err := fsutil.DiskUsage(ctx, s.b.Dir(rec.ID))
	if err != nil {
		return snapshot.Usage{}, fmt.Errorf("usage of %q: %w", key, err)
	}
	return snapshot.Usage{Size: size, Inodes: inodes}, nil
}

// Cleanup removes snapshot directories no record names.
func (s *Snapshotter) Cleanup(ctx context.Context) error {
	return s.b.CleanupWith(ctx, nil)
}

// Stat returns the snapshot's Info.
func (s *Snapshotter) Stat(ctx context.Context, key string) (snapshot.Info, error) {
	return s.b.Stat(ctx, key)
}

// Walk calls fn for every snapshot; fn may call the snapshotter.
func (s *Snapshotter) Walk(ctx context.Context, fn func(snapshot.Info) error) error {
	return s.b.Walk(ctx, fn)
}

// Commit turns the active snapshot key into the committed snapshot name.
func (s *Snapshotter) Commit(ctx context.Context, name, key string, opts ...snapshot.Opt) error {
	return s.b.Commit(ctx, name, key, opts...)
}

// Close closes the metadata database; a second call returns the first's
// result.
func (s *Snapshotter) Close() error {
	return s.b.Close()
}
