package layer

import (
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
// root, creating missing directories on the way (fsat.MkdirAll).
func (r *root) mkdirAll(rel string) (int, error) {
	return fsat.MkdirAll(r.fd, rel, unix.O_PATH, "", nil)
}
