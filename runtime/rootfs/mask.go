package rootfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// devNull opens the rootfs's /dev/null and checks it is the real null
// device. An image whose /dev/null is a symlink (to /proc/sys/..., say) or
// another file would otherwise turn every masked path into a writable copy
// of that file (CVE-2025-31133).
func (s *setup) devNull() (*os.File, error) {
	f, err := openInRoot(s.root, "/dev/null")
	if err != nil {
		return nil, err
	}
	if err := isDevice(f, 1, 3); err != nil {
		f.Close()
		return nil, fmt.Errorf("/dev/null in rootfs: %w", err)
	}
	return f, nil
}

// isDevice checks that f is the character device major:minor.
func isDevice(f *os.File, major, minor uint32) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != major || unix.Minor(st.Rdev) != minor {
		return fmt.Errorf("not character device %d:%d (mode %#o, rdev %d:%d)",
			major, minor, st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	return nil
}

// maskPaths hides linux.maskedPaths: a directory under an empty read-only
// tmpfs, a file under /dev/null. Both are mounted by file descriptor, so
// nothing the image holds can redirect them.
func (s *setup) maskPaths() error {
	if len(s.cfg.Spec.Linux.MaskedPaths) == 0 {
		return nil
	}
	null, err := s.devNull()
	if err != nil {
		return err
	}
	defer null.Close()
	for _, p := range s.cfg.Spec.Linux.MaskedPaths {
		if err := s.maskPath(p, null); err != nil {
			return fmt.Errorf("mask %s: %w", p, err)
		}
	}
	return nil
}

func (s *setup) maskPath(p string, null *os.File) error {
	f, err := openInRoot(s.root, p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return unix.Mount("tmpfs", fdPath(f), "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=0,nr_inodes=1")
	}
	return unix.Mount(fdPath(null), fdPath(f), "", unix.MS_BIND, "")
}

// readonlyPaths makes linux.readonlyPaths read-only bind mounts of
// themselves.
func (s *setup) readonlyPaths() error {
	for _, p := range s.cfg.Spec.Linux.ReadonlyPaths {
		if err := s.readonlyPath(p); err != nil {
			return fmt.Errorf("make %s read-only: %w", p, err)
		}
	}
	return nil
}

func (s *setup) readonlyPath(p string) error {
	f, err := openInRoot(s.root, p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Mount(fdPath(f), fdPath(f), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	mnt, err := openInRoot(s.root, p)
	if err != nil {
		return err
	}
	defer mnt.Close()
	return remountBind(mnt, unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, 0)
}

// bindConsole binds the terminal onto /dev/console by file descriptor: the
// pty is never looked up by a path the image could turn into a symlink to a
// host file (CVE-2025-52565). An existing regular file or character device
// at /dev/console is mounted over as it is, never removed, since /dev may
// be the host's own bound in; anything else (a symlink the image planted)
// is replaced by an empty regular file, never followed.
func (s *setup) bindConsole(pty *os.File) error {
	dev, err := mkdirInRoot(s.root, "/dev", 0o755)
	if err != nil {
		return err
	}
	defer dev.Close()
	target, err := consoleTarget(int(dev.Fd()))
	if err != nil {
		return err
	}
	defer target.Close()
	if err := unix.Mount(fdPath(pty), fdPath(target), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind terminal on /dev/console: %w", err)
	}
	return nil
}

// consoleTarget returns an O_PATH handle on the mount point for the
// terminal in the /dev directory dfd.
func consoleTarget(dfd int) (*os.File, error) {
	open := func() (*os.File, error) {
		fd, err := unix.Openat(dfd, "console", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, err
		}
		return os.NewFile(uintptr(fd), "/dev/console"), nil
	}
	f, err := open()
	if err == nil {
		var st unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &st); err != nil {
			f.Close()
			return nil, fmt.Errorf("stat /dev/console: %w", err)
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG, unix.S_IFCHR:
			return f, nil
		}
		f.Close()
		if err := unix.Unlinkat(dfd, "console", 0); err != nil && !errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("remove /dev/console (mode %#o): %w", st.Mode, err)
		}
	} else if !errors.Is(err, unix.ENOENT) {
		return nil, fmt.Errorf("open /dev/console: %w", err)
	}
	fd, err := unix.Openat(dfd, "console", unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create /dev/console: %w", err)
	}
	unix.Close(fd)
	f, err = open()
	if err != nil {
		return nil, fmt.Errorf("open /dev/console: %w", err)
	}
	return f, nil
}
