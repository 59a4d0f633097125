package rootfs

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// lockedFlags returns the flags of the mount holding f that a bind remount
// must keep: in a user namespace the kernel refuses to drop them.
func lockedFlags(f *os.File) (uintptr, error) {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", f.Name(), err)
	}
	var flags uintptr
	for _, m := range []struct {
		st int64
		ms uintptr
	}{
		{unix.ST_NOSUID, unix.MS_NOSUID},
		{unix.ST_NODEV, unix.MS_NODEV},
		{unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME},
		{unix.ST_NODIRATIME, unix.MS_NODIRATIME},
		{unix.ST_RELATIME, unix.MS_RELATIME},
		{unix.ST_RDONLY, unix.MS_RDONLY},
	} {
		if st.Flags&m.st != 0 {
			flags |= m.ms
		}
	}
	return flags, nil
}

// remountBind changes the flags of the bind mount whose root is f.
func remountBind(f *os.File, set, clear uintptr) error {
	cur, err := lockedFlags(f)
	if err != nil {
		return err
	}
	flags := (cur &^ clear) | set | unix.MS_BIND | unix.MS_REMOUNT
	if err := unix.Mount("", fdPath(f), "", flags, ""); err != nil {
		return fmt.Errorf("remount %s with flags %#x: %w", f.Name(), flags, err)
	}
	return nil
}

// mountAttr translates mount(2) flags to set and to clear into
// mount_setattr(2)'s attributes. An atime mode to set replaces the mount's
// (the kernel wants MOUNT_ATTR__ATIME cleared with it).
func mountAttr(set, clear uintptr) *unix.MountAttr {
	a := &unix.MountAttr{}
	for _, m := range []struct {
		ms   uintptr
		attr uint64
	}{
		{unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY},
		{unix.MS_NOSUID, unix.MOUNT_ATTR_NOSUID},
		{unix.MS_NODEV, unix.MOUNT_ATTR_NODEV},
		{unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC},
		{unix.MS_NODIRATIME, unix.MOUNT_ATTR_NODIRATIME},
	} {
		if set&m.ms != 0 {
			a.Attr_set |= m.attr
		} else if clear&m.ms != 0 {
			a.Attr_clr |= m.attr
		}
	}
	switch {
	case set&unix.MS_NOATIME != 0:
		a.Attr_set |= unix.MOUNT_ATTR_NOATIME
	case set&unix.MS_STRICTATIME != 0:
		a.Attr_set |= unix.MOUNT_ATTR_STRICTATIME
	case set&unix.MS_RELATIME != 0:
		a.Attr_set |= unix.MOUNT_ATTR_RELATIME
	default:
		return a
	}
	a.Attr_clr |= unix.MOUNT_ATTR__ATIME
	return a
}
