package layer

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"berth/internal/fsat"
)

// paxXattr is the PAX record prefix for extended attributes (as GNU tar,
// bsdtar, Docker and containerd write them).
const paxXattr = "SCHILY.xattr."

// overlayXattr reports whether key is overlayfs' own bookkeeping. Those are
// never copied from a layer into a tree (a trusted.overlay.redirect from a
// hostile layer would steer overlay lookups) and never written into a
// layer by Diff (they describe this host's upper dir, not content).
func overlayXattr(key string) bool {
	return strings.HasPrefix(key, "trusted.overlay.") || strings.HasPrefix(key, "user.overlay.")
}

// headerXattrs returns the extended attributes of a tar header, sorted
// by name, without overlayfs' own.
func headerXattrs(pax map[string]string) []xattr {
	var xs []xattr
	for k, v := range pax {
		if !strings.HasPrefix(k, paxXattr) {
			continue
		}
		name := k[len(paxXattr):]
		if name == "" || overlayXattr(name) {
			continue
		}
		xs = append(xs, xattr{name: name, value: v})
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i].name < xs[j].name })
	return xs
}

// xattr is one extended attribute.
type xattr struct{ name, value string }

// setXattrs sets xs on the entry base in dirfd, through fd when the entry
// is open (regular files, directories) and through lsetxattr on the
// /proc/self/fd path otherwise (symlinks, devices, FIFOs), which never
// follows the final symlink. A filesystem that cannot store an attribute
// (ENOTSUP), or user.* on a symlink or device (EPERM: the kernel allows
// them only on files and directories), is skipped and reported through
// skipped; any other failure is an error.
func setXattrs(dirfd int, base string, fd int, xs []xattr, skipped func(name string, err error)) error {
	for _, x := range xs {
		var err error
		if fd >= 0 {
			err = unix.Fsetxattr(fd, x.name, []byte(x.value), 0)
		} else {
			err = unix.Lsetxattr(fsat.ProcPath(dirfd, base), x.name, []byte(x.value), 0)
		}
		switch {
		case err == nil:
		case errors.Is(err, unix.ENOTSUP), fd < 0 && errors.Is(err, unix.EPERM) && strings.HasPrefix(x.name, "user."):
			skipped(x.name, err)
		default:
			return fmt.Errorf("set xattr %s: %w", x.name, err)
		}
	}
	return nil
}

// listXattrs reads every extended attribute of an entry, through fd when
// it is open and else through llistxattr on the /proc/self/fd path of
// base in dirfd. The result is sorted by name.
func listXattrs(dirfd int, base string, fd int) ([]xattr, error) {
	list := func(dest []byte) (int, error) {
		if fd >= 0 {
			return unix.Flistxattr(fd, dest)
		}
		return unix.Llistxattr(fsat.ProcPath(dirfd, base), dest)
	}
	get := func(name string, dest []byte) (int, error) {
		if fd >= 0 {
			return unix.Fgetxattr(fd, name, dest)
		}
		return unix.Lgetxattr(fsat.ProcPath(dirfd, base), name, dest)
	}
	names, err := fsat.Grow(list)
	if errors.Is(err, unix.ENOTSUP) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list xattrs: %w", err)
	}
	var xs []xattr
	for _, name := range strings.Split(strings.TrimRight(string(names), "\x00"), "\x00") {
		if name == "" {
			continue
		}
		v, err := fsat.Grow(func(dest []byte) (int, error) { return get(name, dest) })
		if errors.Is(err, unix.ENODATA) {
			continue // removed while we looked
		}
		if err != nil {
			return nil, fmt.Errorf("get xattr %s: %w", name, err)
		}
		xs = append(xs, xattr{name: name, value: string(v)})
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i].name < xs[j].name })
	return xs, nil
}

// getXattr returns one attribute of the open fd, or "" if absent.
func getXattr(fd int, name string) (string, error) {
	v, err := fsat.Grow(func(dest []byte) (int, error) { return unix.Fgetxattr(fd, name, dest) })
	if errors.Is(err, unix.ENODATA) || errors.Is(err, unix.ENOTSUP) {
		return "", nil
	}
	return string(v), err
}
