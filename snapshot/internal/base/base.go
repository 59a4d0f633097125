// Package base is what the overlay and native snapshotters share: the
// metadata store, the directory of each snapshot under <root>/snapshots,
// and the order of operations that keeps the two consistent across a
// crash. A snapshot's directory is filled under a temporary name
// ("new-*"), renamed to its id inside the metadata transaction that
// records it, and on removal renamed to "rm-<id>" inside the transaction
// that forgets it; whatever a crash leaves is a directory no record names,
// which Cleanup removes.
package base

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"berth/snapshot"
	"berth/snapshot/internal/fsutil"
	"berth/snapshot/internal/storage"
)

// lockTimeout is how long Open waits for another process holding the
// metadata database.
const lockTimeout = 30 * time.Second

// Base holds a snapshotter's root and metadata.
type Base struct {
	root string
	ms   *storage.Store

	// mu is held shared by every operation and exclusively by Cleanup,
	// which would otherwise delete the "new-*" directory of a Prepare in
	// progress. Other processes are kept out by bbolt's file lock.
	mu        sync.RWMutex
	closeOnce sync.Once
	closeErr  error
}

// Open creates <root>/snapshots and opens <root>/metadata.db.
func Open(ctx context.Context, root string) (*Base, error) {
	if err := os.MkdirAll(filepath.Join(root, "snapshots"), 0o700); err != nil {
		return nil, fmt.Errorf("snapshotter root: %w", err)
	}
	ms, err := storage.Open(filepath.Join(root, "metadata.db"), lockTimeout)
	if err != nil {
		return nil, err
	}
	return &Base{root: root, ms: ms}, nil
}

// Root returns the snapshotter's root directory.
func (b *Base) Root() string { return b.root }

// Dir returns the directory of the snapshot with id.
func (b *Base) Dir(id string) string {
	return filepath.Join(b.root, "snapshots", id)
}

// Hooks are a snapshotter's own steps around Base's.
type Hooks struct {
	// Fill populates the new snapshot's temporary directory; parents is
	// the parent's chain, nearest first.
	Fill func(ctx context.Context, dir string, parents []storage.Record) error
	// Publish runs inside the transaction after the directory got its
	// final name (dir); Unpublish undoes it if the transaction fails.
	Publish   func(id, dir string) error
	Unpublish func(id, dir string)
}

// Create makes a snapshot: checks key and parent, fills a temporary
// directory, then records the snapshot and renames the directory in one
// transaction. It returns the record and the parent chain.
func (b *Base) Create(ctx context.Context, kind snapshot.Kind, key, parent string, opts []snapshot.Opt, h Hooks) (storage.Record, []storage.Record, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	parents, err := b.ms.Parents(ctx, key, parent)
	if err != nil {
		return storage.Record{}, nil, err
	}
	parentID := ""
	if len(parents) > 0 {
		parentID = parents[0].ID
	}
	td, err := os.MkdirTemp(filepath.Join(b.root, "snapshots"), "new-")
	if err != nil {
		return storage.Record{}, nil, fmt.Errorf("prepare %q: %w", key, err)
	}
	keep := false
	defer func() {
		if !keep {
			_ = fsutil.RemoveAll(td)
		}
	}()
	if h.Fill != nil {
		if err := h.Fill(ctx, td, parents); err != nil {
			return storage.Record{}, nil, fmt.Errorf("prepare %q: %w", key, err)
		}
	}
	info := snapshot.ApplyOpts(opts...)
	publish := func(id string) error {
		dir := b.Dir(id)
		if err := os.Rename(td, dir); err != nil {
			return err
		}
		if h.Publish != nil {
			if err := h.Publish(id, dir); err != nil {
				_ = os.Rename(dir, td)
				return err
			}
		}
		return nil
	}
	undo := func(id string) {
		dir := b.Dir(id)
		if h.Unpublish != nil {
			h.Unpublish(id, dir)
		}
		_ = os.Rename(dir, td)
	}
	rec, err := b.ms.Create(ctx, kind, key, parent, parentID, info.Labels, publish, undo)
	if err != nil {
		return storage.Record{}, nil, fmt.Errorf("prepare %q: %w", key, err)
	}
	keep = true
	return rec, parents, nil
}

// Chain returns the record of key and its parents, nearest first.
func (b *Base) Chain(ctx context.Context, key string) ([]storage.Record, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.ms.Chain(ctx, key)
}

// Get returns the record of key.
func (b *Base) Get(ctx context.Context, key string) (storage.Record, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.ms.Get(ctx, key)
}

// Stat returns the snapshot's Info.
func (b *Base) Stat(ctx context.Context, key string) (snapshot.Info, error) {
	r, err := b.Get(ctx, key)
	if err != nil {
		return snapshot.Info{}, err
	}
	return r.Info(), nil
}

// Walk calls fn for every snapshot. fn runs without any lock held, so it
// may call the snapshotter (even Cleanup).
func (b *Base) Walk(ctx context.Context, fn func(snapshot.Info) error) error {
	var infos []snapshot.Info
	b.mu.RLock()
	err := b.ms.Walk(ctx, func(r storage.Record) error {
		infos = append(infos, r.Info())
		return nil
	})
	b.mu.RUnlock()
	if err != nil {
		return err
	}
	for _, i := range infos {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(i); err != nil {
			return err
		}
	}
	return nil
}

// Commit turns the active snapshot key into the committed snapshot name.
func (b *Base) Commit(ctx context.Context, name, key string, opts ...snapshot.Opt) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	info := snapshot.ApplyOpts(opts...)
	if _, err := b.ms.Commit(ctx, name, key, info.Labels); err != nil {
		return fmt.Errorf("commit %q as %q: %w", key, name, err)
	}
	return nil
}

// RemoveWith deletes the snapshot key: the record and the directory's
// final name go in one transaction (refused while something is mounted
// inside the directory), then after runs and the data is deleted.
func (b *Base) RemoveWith(ctx context.Context, key string, after func(rec storage.Record, dir string)) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var gone string
	unpublish := func(r storage.Record) error {
		dir := b.Dir(r.ID)
		mps, err := fsutil.MountPointsUnder(dir)
		if err != nil {
			return err
		}
		if len(mps) > 0 {
			return fmt.Errorf("snapshot %q is mounted at %s: %w", key, mps[0], snapshot.ErrInUse)
		}
		gone = filepath.Join(b.root, "snapshots", "rm-"+r.ID)
		return os.Rename(dir, gone)
	}
	undo := func(r storage.Record) { _ = os.Rename(gone, b.Dir(r.ID)) }
	rec, err := b.ms.Remove(ctx, key, unpublish, undo)
	if err != nil {
		return fmt.Errorf("remove snapshot %q: %w", key, err)
	}
	if after != nil {
		after(rec, gone)
	}
	if err := fsutil.RemoveAll(gone); err != nil {
		// The record is gone; Cleanup deletes the data later.
		return fmt.Errorf("remove snapshot %q: %w", key, err)
	}
	return nil
}

// CleanupWith removes every directory under <root>/snapshots that no
// record names, then calls extra with the live ids for the snapshotter's
// own leftovers.
func (b *Base) CleanupWith(ctx context.Context, extra func(ids map[string]bool) error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	ids, err := b.ms.IDs(ctx)
	if err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	dir := filepath.Join(b.root, "snapshots")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	var errs []error
	present := map[string]bool{}
	for _, e := range entries {
		present[e.Name()] = true
	}
	for _, e := range entries {
		if ids[e.Name()] {
			continue
		}
		p := filepath.Join(dir, e.Name())
		// A remove killed after it renamed the directory aside and
		// before its transaction committed: the record still names
		// the snapshot, so the data goes back.
		if id, ok := strings.CutPrefix(e.Name(), "rm-"); ok && ids[id] && !present[id] {
			slog.InfoContext(ctx, "snapshot cleanup: restoring a snapshot whose removal did not commit", "path", p)
			if err := os.Rename(p, filepath.Join(dir, id)); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		slog.InfoContext(ctx, "snapshot cleanup: removing orphan", "path", p)
		if err := fsutil.RemoveAll(p); err != nil {
			errs = append(errs, err)
		}
	}
	if extra != nil {
		if err := extra(ids); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	return nil
}

// Close closes the metadata store; later calls return the first result.
func (b *Base) Close() error {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.closeErr = b.ms.Close()
	})
	return b.closeErr
}
