package image

import (
	"context"
	"fmt"
	"io"
	"os"

	"berth/layer"
	"berth/snapshot"
)

// Export writes the merged filesystem of the rootfs key as a tar to w,
// as `docker export` does for a container. The tree is read with lstat
// and openat(O_NOFOLLOW) only: no symlink of the container is followed
// and nothing of it is run. Export may run while the rootfs is mounted
// and in use; a container that writes meanwhile gives a tar of some
// mixture, as with Docker (pause it first).
func (s *Store) Export(ctx context.Context, key string, w io.Writer) error {
	mounts, err := s.RootfsMounts(ctx, key)
	if err != nil {
		return fmt.Errorf("export %s: %w", key, err)
	}
	err = withTree(mounts, func(dir string) error {
		return withEmptyDir(func(empty string) error {
			// Every entry of the tree is "added" to an empty one.
			return layer.DiffDirs(ctx, w, empty, dir, layer.DiffOptions{})
		})
	})
	if err != nil {
		return fmt.Errorf("export %s: %w", key, err)
	}
	return nil
}

// withTree calls fn with a directory showing the merged tree of mounts.
// A bind mount is read at its source, without mounting. An overlay is
// mounted read-only on a temporary directory with its upper directory as
// the top lower layer and no upper or work directory: mounting the same
// upper directory twice as upper is refused or unsafe, as a lower layer
// it is only read. The mount is always removed.
func withTree(mounts []snapshot.Mount, fn func(dir string) error) error {
	if len(mounts) != 1 {
		return fmt.Errorf("cannot read a tree from %d mounts", len(mounts))
	}
	m := mounts[0]
	switch m.Type {
	case "bind":
		return fn(m.Source)
	case "overlay":
	default:
		return fmt.Errorf("cannot read a tree from a %q mount", m.Type)
	}
	lowers := m.LowerDirs()
	if up := m.UpperDir(); up != "" {
		lowers = append([]string{up}, lowers...)
	}
	if len(lowers) < 2 {
		// overlayfs needs two lower layers when it has no upper one.
		if len(lowers) == 1 {
			return fn(lowers[0])
		}
		return fmt.Errorf("overlay mount without layers")
	}
	ro := snapshot.Mount{
		Type:    "overlay",
		Source:  "overlay",
		Options: []string{"ro", "index=off", "lowerdir=" + snapshot.JoinLowerDirs(lowers)},
	}
	target, err := os.MkdirTemp("", "berth-tree-")
	if err != nil {
		return err
	}
	defer os.Remove(target)
	if err := snapshot.MountAll([]snapshot.Mount{ro}, target); err != nil {
		return fmt.Errorf("mount read-only view: %w", err)
	}
	err = fn(target)
	if uerr := snapshot.Unmount(target); uerr != nil && err == nil {
		err = fmt.Errorf("unmount read-only view: %w", uerr)
	}
	return err
}

// withEmptyDir calls fn with a new empty directory, removed after.
func withEmptyDir(fn func(dir string) error) error {
	dir, err := os.MkdirTemp("", "berth-empty-")
	if err != nil {
		return err
	}
	defer os.Remove(dir)
	return fn(dir)
}
