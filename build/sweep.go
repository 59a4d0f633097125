package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"berth/snapshot"
)

// sweep removes what killed builds left: for each step work directory
// under <root>/build/run whose lock no live process holds, the runtime's
// container (killed), the rootfs mount, the step's snapshot and the
// directory; then cache entries whose layers are gone. A live build's
// directories are locked and left alone.
func (b *Builder) sweep(ctx context.Context) error {
	ents, err := os.ReadDir(b.runDir())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	snaps, _ := b.images.Snapshots()
	var errs []error
	for _, de := range ents {
		dir := filepath.Join(b.runDir(), de.Name())
		if strings.HasPrefix(de.Name(), "tree-") { // left by older berths
			if err := snapshot.Unmount(dir); err != nil {
				errs = append(errs, err)
				continue
			}
			_ = os.Remove(dir)
			continue
		}
		lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR, 0)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				// Killed between mkdir and lock, or while removing.
				errs = append(errs, b.removeStep(ctx, de.Name(), dir))
			}
			continue
		}
		if unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
			lock.Close() // a live build's step
			continue
		}
		errs = append(errs, b.removeStep(ctx, de.Name(), dir))
		lock.Close()
	}
	// Snapshots whose directory went first (killed during removal).
	_ = snaps.Walk(ctx, func(i snapshot.Info) error {
		if !strings.HasPrefix(i.Key, snapPrefix) || i.Kind == snapshot.KindCommitted {
			return nil
		}
		id := strings.TrimPrefix(i.Key, snapPrefix)
		if _, err := os.Stat(filepath.Join(b.runDir(), id)); errors.Is(err, os.ErrNotExist) {
			if rerr := snaps.Remove(ctx, i.Key); rerr != nil && !errors.Is(rerr, snapshot.ErrNotFound) {
				errs = append(errs, rerr)
			}
		}
		return nil
	})
	// Lookups check their entry's layer anyway; the prune removes the
	// entries whose layers went, and runs only when blobs changed.
	if b.cache.due() {
		if _, err := b.cache.prune(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeStep cleans up one abandoned step.
func (b *Builder) removeStep(ctx context.Context, id, dir string) error {
	b.deleteContainer(snapPrefix + id)
	for _, m := range []string{"rootfs", treeDir} {
		if err := snapshot.Unmount(filepath.Join(dir, m)); err != nil {
			return fmt.Errorf("clean up build step %s: %w", id, err)
		}
	}
	snaps, _ := b.images.Snapshots()
	if err := snaps.Remove(ctx, snapPrefix+id); err != nil && !errors.Is(err, snapshot.ErrNotFound) {
		return fmt.Errorf("clean up build step %s: %w", id, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("clean up build step %s: %w", id, err)
	}
	return nil
}
