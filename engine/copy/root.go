package copy

import (
	"fmt"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"berth/internal/fsat"
)

// root is a directory (a container's root filesystem, or a host
// destination) held open so that every lookup starts from this inode.
type root struct {
	fd   int
	path string
	real string // the directory's path as the kernel sees it, for inRoot
}

// openRoot opens dir as a root.
func openRoot(dir string) (*root, error) {
	fd, err := fsat.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	real, err := fdPath(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("open root %s: %w", dir, err)
	}
	return &root{fd: fd, path: dir, real: real}, nil
}

func (r *root) close() { unix.Close(r.fd) }

// open opens rel (relative to the root; a leading "/" is allowed) with
// flags, resolving every component inside the root.
func (r *root) open(rel string, flags int) (int, error) {
	return fsat.OpenInRoot(r.fd, rel, flags)
}

// inRoot returns the path, inside the root, of the file open as fd, which
// was reached through the root (so it is below it).
func (r *root) inRoot(fd int) (string, error) {
	p, err := fdPath(fd)
	if err != nil {
		return "", err
	}
	if r.real == "/" {
		return path.Clean(p), nil
	}
	if p == r.real {
		return "/", nil
	}
	if !strings.HasPrefix(p, r.real+"/") {
		// Moved out of the root (or deleted) since it was opened.
		return "", fmt.Errorf("%s is no longer inside %s", p, r.path)
	}
	return p[len(r.real):], nil
}

// fdPath is the path the kernel records for an open descriptor.
func fdPath(fd int) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlink(fsat.ProcFD(fd), buf)
	if err != nil {
		return "", fmt.Errorf("readlink %s: %w", fsat.ProcFD(fd), err)
	}
	p := string(buf[:n])
	if !strings.HasPrefix(p, "/") || strings.HasSuffix(p, " (deleted)") {
		return "", fmt.Errorf("descriptor %d names %q, not a live path", fd, p)
	}
	return p, nil
}
