package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// fdPath names an open file for mount(2), which takes paths: the magic link
// in the runtime's own /proc, which no container process can reach.
func fdPath(f *os.File) string {
	return "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
}

// openInRoot opens path inside root (an O_PATH handle); symlinks are
// resolved as if root were "/", so nothing outside root is ever reached.
func openInRoot(root *os.File, path string) (*os.File, error) {
	f, err := pathrs.OpenatInRoot(root, path)
	if err != nil {
		return nil, fmt.Errorf("open %s in rootfs: %w", path, err)
	}
	return f, nil
}

// mkdirInRoot creates the directory path inside root and returns a handle.
func mkdirInRoot(root *os.File, path string, mode os.FileMode) (*os.File, error) {
	f, err := pathrs.MkdirAllHandle(root, path, mode)
	if err != nil {
		return nil, fmt.Errorf("create directory %s in rootfs: %w", path, err)
	}
	return f, nil
}

// fileInRoot returns a handle on the file at path inside root, creating an
// empty regular file (and its parents) if nothing is there. An existing
// symlink is followed inside root, as runc does for mount destinations.
func fileInRoot(root *os.File, path string) (*os.File, error) {
	f, err := pathrs.OpenatInRoot(root, path)
	if err == nil {
		return f, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("open %s in rootfs: %w", path, err)
	}
	dir, err := mkdirInRoot(root, filepath.Dir(path), 0o755)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	name := filepath.Base(path)
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("create %s in rootfs: %w", path, err)
	}
	if err == nil {
		unix.Close(fd)
	}
	fd, err = unix.Openat(int(dir.Fd()), name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s in rootfs: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// targetInRoot returns a handle on the mount point for dest inside root,
// creating a directory or (when isFile) a file there.
func targetInRoot(root *os.File, dest string, isFile bool) (*os.File, error) {
	if isFile {
		return fileInRoot(root, dest)
	}
	return mkdirInRoot(root, dest, 0o755)
}
