package link

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// nsGetNsType is the NS_GET_NSTYPE ioctl (_IO(0xb7, 0x3)), which x/sys
// does not define.
const nsGetNsType = 0xb703

// ErrNotNetns is wrapped when a path is not a mounted network namespace.
var ErrNotNetns = errors.New("not a network namespace")

// CreateNetns creates a new, empty network namespace and keeps it alive by
// bind-mounting it on path, which must be absolute. The parent directory
// is created (0700) if needed. An existing empty file left by a reboot is
// reused; a live namespace already at path is an error wrapping
// fs.ErrExist. On failure nothing is left at path.
func CreateNetns(path string) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("create netns %q: path is not absolute", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create netns %s: %w", path, err)
	}
	live, err := IsNetns(path)
	if err != nil {
		return fmt.Errorf("create netns %s: %w", path, err)
	}
	if live {
		return fmt.Errorf("create netns %s: %w", path, fs.ErrExist)
	}
	// O_NOFOLLOW: never mount over whatever a symlink points at.
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create netns %s: %w", path, err)
	}
	st, err := f.Stat()
	f.Close()
	if err != nil {
		return fmt.Errorf("create netns %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("create netns %s: not a regular file", path)
	}
	if err := onNewThread(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("unshare: %w", err)
		}
		if err := unix.Mount("/proc/thread-self/ns/net", path, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind mount: %w", err)
		}
		return nil
	}); err != nil {
		os.Remove(path)
		return fmt.Errorf("create netns %s: %w", path, err)
	}
	return nil
}

// RemoveNetns unmounts the namespace at path and deletes the file. It
// succeeds if the mount is already gone (after a reboot) or the file does
// not exist. The namespace itself lives on while a process is in it.
func RemoveNetns(path string) error {
	// Unmount until nothing is mounted there; a path mounted twice (a
	// racing create) needs two. The bound keeps a broken kernel from
	// looping us forever.
	for i := 0; i < 16; i++ {
		err := unix.Unmount(path, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
		if err == nil {
			continue
		}
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			break
		}
		return fmt.Errorf("remove netns %s: unmount: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove netns %s: %w", path, err)
	}
	return nil
}

// IsNetns reports whether path is a mounted network namespace. A missing
// path or a plain file is false with no error.
func IsNetns(path string) (bool, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ELOOP) {
			return false, nil
		}
		return false, fmt.Errorf("check netns %s: %w", path, err)
	}
	defer f.Close()
	return isNetnsFd(int(f.Fd()))
}

// isNetnsFd reports whether fd refers to a network namespace.
func isNetnsFd(fd int) (bool, error) {
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		return false, fmt.Errorf("statfs: %w", err)
	}
	if sfs.Type != unix.NSFS_MAGIC {
		return false, nil
	}
	t, err := unix.IoctlRetInt(fd, nsGetNsType)
	if err != nil {
		return false, fmt.Errorf("NS_GET_NSTYPE: %w", err)
	}
	return t == unix.CLONE_NEWNET, nil
}

// openNetns opens the namespace file at path and checks that it is a live
// network namespace; the caller closes the file.
func openNetns(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("netns: %w", err) // err names the path
	}
	ok, err := isNetnsFd(int(f.Fd()))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open netns %s: %w", path, err)
	}
	if !ok {
		f.Close()
		return nil, fmt.Errorf("open netns %s: %w", path, ErrNotNetns)
	}
	return f, nil
}

// Do runs fn with the calling thread in the network namespace mounted at
// path. fn runs on its own goroutine locked to an OS thread that is
// discarded afterwards, so no other goroutine ever runs in that namespace.
// fn must not start goroutines that expect to be in the namespace.
func Do(path string, fn func() error) error {
	f, err := openNetns(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return onNewThread(func() error {
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("enter netns %s: %w", path, err)
		}
		return fn()
	})
}

// onNewThread runs fn on a goroutine locked to its OS thread and never
// unlocks it: when the goroutine returns, the runtime terminates the
// thread, whatever namespace fn left it in.
func onNewThread(fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("panic in namespace thread: %v", r)
			}
		}()
		done <- fn()
	}()
	return <-done
}
