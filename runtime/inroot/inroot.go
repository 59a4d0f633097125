// Package inroot opens and creates paths inside a directory tree (a
// container's rootfs) without ever leaving it: every lookup is an
// openat2(2) with RESOLVE_IN_ROOT, so "..", absolute symlinks and symlinks
// swapped in concurrently all resolve as if the tree were "/".
package inroot

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// resolve is how every lookup inside the root is made: confined to it, and
// never through a /proc magic link, which could point anywhere.
const resolve = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// Open opens path inside root with flags (O_CLOEXEC is added).
func Open(root *os.File, path string, flags int) (*os.File, error) {
	rel := relative(path)
	how := &unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: resolve}
	for {
		fd, err := unix.Openat2(int(root.Fd()), rel, how)
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open in root", Path: path, Err: err}
		}
		return os.NewFile(uintptr(fd), path), nil
	}
}

// OpenPath returns an O_PATH handle on path inside root.
func OpenPath(root *os.File, path string) (*os.File, error) {
	return Open(root, path, unix.O_PATH)
}

// MkdirAll creates the directory path (and its parents) inside root and
// returns an O_PATH handle on it.
func MkdirAll(root *os.File, path string, mode os.FileMode) (*os.File, error) {
	rel := relative(path)
	if f, err := Open(root, rel, unix.O_PATH|unix.O_DIRECTORY); err == nil || !errors.Is(err, unix.ENOENT) {
		return f, err
	}
	parts := strings.Split(rel, "/")
	dir, err := Open(root, ".", unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return nil, err
	}
	for i, name := range parts {
		if name == "" || name == "." {
			continue
		}
		// Each step starts again from the root, so a symlink met on the
		// way is resolved inside it; only a missing final part is created,
		// in the directory we hold.
		next, err := Open(root, strings.Join(parts[:i+1], "/"), unix.O_PATH|unix.O_DIRECTORY)
		if errors.Is(err, unix.ENOENT) {
			if err := unix.Mkdirat(int(dir.Fd()), name, uint32(mode.Perm())); err != nil && !errors.Is(err, unix.EEXIST) {
				dir.Close()
				return nil, &os.PathError{Op: "mkdir in root", Path: path, Err: err}
			}
			next, err = Open(dir, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW)
		}
		dir.Close()
		if err != nil {
			return nil, err
		}
		dir = next
	}
	return dir, nil
}

// File returns an O_PATH handle on the file at path inside root, creating
// an empty regular file (and its parent directories) if nothing is there.
func File(root *os.File, path string, mode os.FileMode) (*os.File, error) {
	f, err := OpenPath(root, path)
	if err == nil || !errors.Is(err, unix.ENOENT) {
		return f, err
	}
	rel := relative(path)
	dir, err := MkdirAll(root, filepath.Dir(rel), 0o755)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	name := filepath.Base(rel)
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_WRONLY|unix.O_CLOEXEC, uint32(mode.Perm()))
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, &os.PathError{Op: "create in root", Path: path, Err: err}
	}
	if err == nil {
		unix.Close(fd)
	}
	return Open(dir, name, unix.O_PATH|unix.O_NOFOLLOW)
}

// relative turns a container path into one relative to the root, cleaned
// lexically ("/a/../b" is "b"); ".." cannot climb above the root anyway.
func relative(path string) string {
	p := filepath.Clean("/" + path)
	if p == "/" {
		return "."
	}
	return p[1:]
}
