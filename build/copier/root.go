package copier

import (
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
// rel inside the root, creating missing parts (fsat.MkdirAll) with mode
// 0755 whatever the process umask, as Docker makes them, owned by own
// (nil: the caller).
func (r *root) mkdirAll(rel string, own *Owner) (int, error) {
	return fsat.MkdirAll(r.fd, strings.Trim(rel, "/"), unix.O_RDONLY, "/", func(fd int) error {
		if err := unix.Fchmod(fd, 0o755); err != nil {
			return err
		}
		if own != nil {
			return unix.Fchown(fd, own.UID, own.GID)
		}
		return nil
	})
}
