package layer

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"berth/internal/fsat"
)

// root is the directory a layer is applied into or diffed from, held
// open so that every lookup is relative to this one inode.
type root struct {
	fd   int
	path string
}

// openRoot opens dir as the root of the layer.
func openRoot(dir string) (*root, error) {
	fd, err := fsat.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &root{fd: fd, path: dir}, nil
}

func (r *root) close() { unix.Close(r.fd) }

// open opens rel (clean, relative) inside the root with flags.
func (r *root) open(rel string, flags int) (int, error) {
	if rel == "" {
		return -1, unix.ENOENT // as openat2 says of an empty path
	}
	return fsat.OpenInRoot(r.fd, rel, flags)
}

// openDir returns an O_PATH handle on the directory rel inside the root.
// With nofollow a symlink as the final component is an error (ENOTDIR)
// instead of being resolved.
func (r *root) openDir(rel string, nofollow bool) (int, error) {
	flags := unix.O_PATH | unix.O_DIRECTORY
	if nofollow {
		flags |= unix.O_NOFOLLOW
	}
	return r.open(rel, flags)
}

// mkdirAll returns an O_PATH handle on the directory rel inside the
// root, creating missing directories (mode 0755, owned by the caller) on
// the way. Each step is resolved again from the root, so a symlink met on
// the way stays inside it, and only a missing final part is created, by
// mkdirat in the directory handle we hold.
func (r *root) mkdirAll(rel string) (int, error) {
	fd, err := r.openDir(rel, false)
	if err == nil || !errors.Is(err, unix.ENOENT) {
		return fd, err
	}
	parts := strings.Split(rel, "/")
	cur, err := unix.Dup(r.fd)
	if err != nil {
		return -1, err
	}
	for i, name := range parts {
		next, err := r.openDir(strings.Join(parts[:i+1], "/"), false)
		if errors.Is(err, unix.ENOENT) {
			if err := unix.Mkdirat(cur, name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
				unix.Close(cur)
				return -1, fmt.Errorf("mkdir %s: %w", strings.Join(parts[:i+1], "/"), err)
			}
			next, err = fsat.Openat(cur, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW)
			var st unix.Stat_t
			if err != nil && unix.Fstatat(cur, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
				// A dangling symlink: its target is not made, as tar(1)
				// does not make it either.
				unix.Close(cur)
				return -1, fmt.Errorf("%s is a symlink to a missing directory", strings.Join(parts[:i+1], "/"))
			}
		}
		unix.Close(cur)
		if err != nil {
			return -1, fmt.Errorf("open %s: %w", strings.Join(parts[:i+1], "/"), err)
		}
		cur = next
	}
	return cur, nil
}
