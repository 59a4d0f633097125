package copier

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"berth/internal/fsat"
)

// root is a directory held open so that every lookup is relative to
// this one inode.
type root struct {
	fd   int
	path string
}

// openRoot opens dir as a root.
func openRoot(dir string) (*root, error) {
	fd, err := fsat.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &root{fd: fd, path: dir}, nil
}

func (r *root) close() { unix.Close(r.fd) }

// open opens rel (relative, slash-separated) inside the root.
func (r *root) open(rel string, flags int) (int, error) {
	return fsat.OpenInRoot(r.fd, rel, flags)
}

// mkdirAll returns a descriptor (O_RDONLY|O_DIRECTORY) on the directory
// rel inside the root, creating missing parts with mode 0755 owned by
// own (nil: the caller). Each step is resolved again from the root, so a
// symlink met on the way stays inside it.
func (r *root) mkdirAll(rel string, own *Owner) (int, error) {
	rel = strings.Trim(rel, "/")
	fd, err := r.open(rel, unix.O_RDONLY|unix.O_DIRECTORY)
	if err == nil || !errors.Is(err, unix.ENOENT) {
		if err != nil {
			return -1, fmt.Errorf("open /%s: %w", rel, err)
		}
		return fd, nil
	}
	parts := strings.Split(rel, "/")
	cur, err := r.open(".", unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return -1, err
	}
	for i, name := range parts {
		sub := strings.Join(parts[:i+1], "/")
		next, err := r.open(sub, unix.O_RDONLY|unix.O_DIRECTORY)
		if errors.Is(err, unix.ENOENT) {
			if err := unix.Mkdirat(cur, name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
				unix.Close(cur)
				return -1, fmt.Errorf("mkdir /%s: %w", sub, err)
			}
			next, err = fsat.Openat(cur, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
			var st unix.Stat_t
			if err != nil && unix.Fstatat(cur, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
				// A link whose target is missing inside the root: its
				// target is not made (mkdir -p does not either).
				unix.Close(cur)
				return -1, fmt.Errorf("/%s is a symlink to a missing directory", sub)
			}
			if err == nil {
				// 0755 whatever the process umask, as Docker makes them.
				err = unix.Fchmod(next, 0o755)
				if err == nil && own != nil {
					err = unix.Fchown(next, own.UID, own.GID)
				}
				if err != nil {
					unix.Close(next)
				}
			}
		}
		unix.Close(cur)
		if err != nil {
			return -1, fmt.Errorf("open /%s: %w", sub, err)
		}
		cur = next
	}
	return cur, nil
}
