package overlay

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"berth/snapshot"
	"berth/snapshot/internal/fsutil"
)

// Check tells whether overlay can be mounted with its upper and lower
// directories under root, the way this snapshotter will: two lowers and
// an upper, then a file written and a lower file deleted through the
// mount (which makes a whiteout). It fails, for instance, when root is
// itself on overlayfs or on a filesystem without d_type.
func Check(ctx context.Context, root string) (err error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return fmt.Errorf("overlay check: %w", err)
	}
	dir, err := os.MkdirTemp(root, "overlay-check-")
	if err != nil {
		return fmt.Errorf("overlay check: %w", err)
	}
	defer func() {
		if rerr := fsutil.RemoveAll(dir); rerr != nil && err == nil {
			err = fmt.Errorf("overlay check: %w", rerr)
		}
	}()
	for _, d := range []string{"l1", "l2", "upper", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return fmt.Errorf("overlay check: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "l1", "a"), []byte("a"), 0o644); err != nil {
		return fmt.Errorf("overlay check: %w", err)
	}
	m := snapshot.Mount{Type: "overlay", Source: "overlay", Options: []string{
		"index=off",
		"lowerdir=" + filepath.Join(dir, "l2") + ":" + filepath.Join(dir, "l1"),
		"upperdir=" + filepath.Join(dir, "upper"),
		"workdir=" + filepath.Join(dir, "work"),
	}}
	merged := filepath.Join(dir, "merged")
	if err := snapshot.MountAll([]snapshot.Mount{m}, merged); err != nil {
		return fmt.Errorf("overlay check: %w", err)
	}
	defer func() {
		if uerr := snapshot.Unmount(merged); uerr != nil && err == nil {
			err = fmt.Errorf("overlay check: %w", uerr)
		}
	}()
	if err := os.WriteFile(filepath.Join(merged, "b"), []byte("b"), 0o644); err != nil {
		return fmt.Errorf("overlay check: write through overlay: %w", err)
	}
	if err := os.Remove(filepath.Join(merged, "a")); err != nil {
		return fmt.Errorf("overlay check: delete through overlay: %w", err)
	}
	if _, err := os.Lstat(filepath.Join(merged, "a")); !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("overlay check: deleted file still visible (%v)", err)
	}
	return nil
}
