// Package fsutil holds the filesystem helpers the snapshotters share:
// disk usage, mount point discovery and a removal that never crosses into
// a mounted filesystem.
package fsutil

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"
)

// inode identifies a file across hard links.
type inode struct{ dev, ino uint64 }

// DiskUsage walks dir without following symlinks and returns the bytes
// allocated (blocks, so sparse files count what they use) and the number
// of distinct inodes; a hard-linked file counts once.
func DiskUsage(ctx context.Context, dir string) (size, inodes int64, err error) {
	seen := make(map[inode]struct{})
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("stat %s: no unix stat", p)
		}
		k := inode{uint64(st.Dev), st.Ino}
		if _, dup := seen[k]; dup {
			return nil
		}
		seen[k] = struct{}{}
		size += st.Blocks * 512
		inodes++
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("disk usage of %s: %w", dir, err)
	}
	return size, inodes, nil
}
