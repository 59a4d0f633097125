package copier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"berth/internal/fsat"
)

// maxLinkHandles bounds the descriptors held to recreate hardlinks;
// beyond it further links are copied as separate files.
const maxLinkHandles = 1024

// devIno names a source inode, to find hardlinks within one copy.
type devIno struct{ dev, ino uint64 }

// copier is one Copy call's state.
type copier struct {
	ctx   context.Context
	o     Options
	dst   *root
	src   *root
	links map[devIno]int // source inode -> O_PATH handle on its first copy
}

func (c *copier) closeLinks() {
	for _, fd := range c.links {
		unix.Close(fd)
	}
}

// reopen opens the file held by fd (possibly O_PATH) again with flags,
// through our own /proc/self/fd link, which names exactly that inode.
func reopen(fd, flags int) (int, error) {
	for {
		nfd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), flags|unix.O_CLOEXEC, 0)
		if err == unix.EINTR {
			continue
		}
		return nfd, err
	}
}

// copyDirContents copies the entries of the source directory sfd (at
// srcRel in the source root) into the destination directory dfd (at
// dstRel in the destination root). Entries are sorted so that results
// and errors do not depend on directory order.
func (c *copier) copyDirContents(sfd int, srcRel string, dfd int, dstRel string) error {
	names, err := fsat.ReadNames(sfd)
	if err != nil {
		return fmt.Errorf("read directory %s: %w", srcRel, err)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := c.ctx.Err(); err != nil {
			return err
		}
		childSrc := path.Join(srcRel, name)
		var st unix.Stat_t
		if err := unix.Fstatat(sfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue // removed while we copy
			}
			return fmt.Errorf("stat %s: %w", childSrc, err)
		}
		isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
		if c.o.Exclude != nil {
			excluded, descend := c.o.Exclude(childSrc, isDir)
			if excluded && !(isDir && descend) {
				continue
			}
		}
		if err := c.copyChild(sfd, name, &st, childSrc, dfd, path.Join(dstRel, name)); err != nil {
			return err
		}
	}
	return nil
}

// copyChild opens the entry name of the source directory sfd without
// following a link and copies it as name into dfd.
func (c *copier) copyChild(sfd int, name string, st *unix.Stat_t, srcRel string, dfd int, dstRel string) error {
	k := st.Mode & unix.S_IFMT
	fd := -1
	if k == unix.S_IFREG || k == unix.S_IFDIR {
		flags := unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK
		var err error
		if fd, err = fsat.Openat(sfd, name, flags); err != nil {
			return fmt.Errorf("open %s: %w", srcRel, err)
		}
		defer unix.Close(fd)
		// The entry may have been swapped since we looked.
		if err := unix.Fstat(fd, st); err != nil {
			return fmt.Errorf("stat %s: %w", srcRel, err)
		}
	}
	return c.copyEntry(sfd, name, fd, st, srcRel, dfd, dstRel, path.Base("/"+dstRel))
}

// copyOpen copies the source open as fd (a file or directory, or an
// O_PATH handle on anything else) to name in dfd.
func (c *copier) copyOpen(fd int, st *unix.Stat_t, srcRel string, dfd int, dstRel, name string) error {
	return c.copyEntry(-1, "", fd, st, srcRel, dfd, dstRel, name)
}

// copyEntry creates name in the destination directory dfd as a copy of
// the source entry (open as fd for files and directories; else found as
// sname in sdir, or through fd when sdir is -1).
func (c *copier) copyEntry(sdir int, sname string, fd int, st *unix.Stat_t, srcRel string, dfd int, dstRel, name string) error {
	var cur unix.Stat_t
	exists := unix.Fstatat(dfd, name, &cur, unix.AT_SYMLINK_NOFOLLOW) == nil
	k := st.Mode & unix.S_IFMT
	if k == unix.S_IFDIR {
		return c.copyDir(fd, st, srcRel, dfd, dstRel, name, exists, &cur)
	}
	if exists {
		if cur.Mode&unix.S_IFMT == unix.S_IFDIR {
			return fmt.Errorf("copy %s: cannot overwrite directory /%s with non-directory", srcRel, dstRel)
		}
		if err := unix.Unlinkat(dfd, name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("copy %s: replace /%s: %w", srcRel, dstRel, err)
		}
	}
	switch k {
	case unix.S_IFREG:
		return c.copyFile(fd, st, srcRel, dfd, dstRel, name)
	case unix.S_IFLNK:
		target, err := readlinkSource(sdir, sname, fd)
		if err != nil {
			return fmt.Errorf("readlink %s: %w", srcRel, err)
		}
		if err := unix.Symlinkat(target, dfd, name); err != nil {
			return fmt.Errorf("copy %s: symlink /%s: %w", srcRel, dstRel, err)
		}
		return c.finish(dfd, name, st, false, dstRel)
	case unix.S_IFIFO, unix.S_IFCHR, unix.S_IFBLK:
		if err := unix.Mknodat(dfd, name, st.Mode&unix.S_IFMT|0o600, int(st.Rdev)); err != nil {
			return fmt.Errorf("copy %s: mknod /%s: %w", srcRel, dstRel, err)
		}
		return c.finish(dfd, name, st, true, dstRel)
	}
	// Sockets have no meaning in an image; Docker leaves them out too.
	return nil
}

// readlinkSource reads a symlink's target, named in sdir or held by fd.
func readlinkSource(sdir int, sname string, fd int) (string, error) {
	buf := make([]byte, unix.PathMax)
	var n int
	var err error
	if sdir >= 0 {
		n, err = unix.Readlinkat(sdir, sname, buf)
	} else {
		n, err = unix.Readlinkat(fd, "", buf)
	}
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// copyDir merges the source directory fd into name in dfd.
func (c *copier) copyDir(fd int, st *unix.Stat_t, srcRel string, dfd int, dstRel, name string, exists bool, cur *unix.Stat_t) error {
	var sub int
	var err error
	switch {
	case exists && cur.Mode&unix.S_IFMT == unix.S_IFDIR:
		sub, err = fsat.Openat(dfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
	case exists && cur.Mode&unix.S_IFMT == unix.S_IFLNK:
		// A link to a directory (merged /usr) is followed, inside the
		// root; a link to anything else is replaced.
		sub, err = c.dst.open(dstRel, unix.O_RDONLY|unix.O_DIRECTORY)
		if err != nil {
			if err = unix.Unlinkat(dfd, name, 0); err == nil {
				sub, err = c.mkdir(dfd, name)
			}
		}
	default:
		if exists {
			if err = unix.Unlinkat(dfd, name, 0); err != nil {
				return fmt.Errorf("copy %s: replace /%s: %w", srcRel, dstRel, err)
			}
		}
		sub, err = c.mkdir(dfd, name)
	}
	if err != nil {
		return fmt.Errorf("copy %s: directory /%s: %w", srcRel, dstRel, err)
	}
	defer unix.Close(sub)
	if err := c.copyDirContents(fd, srcRel, sub, dstRel); err != nil {
		return err
	}
	if err := c.copyXattrs(fd, sub, srcRel); err != nil {
		return err
	}
	return c.meta(sub, st, dstRel)
}

// mkdir makes the directory name in dfd (0700 until its metadata is set
// at the end) and opens it without following a link.
func (c *copier) mkdir(dfd int, name string) (int, error) {
	if err := unix.Mkdirat(dfd, name, 0o700); err != nil {
		return -1, err
	}
	return fsat.Openat(dfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
}

// copyFile writes a copy of the open file fd as the new name in dfd, or
// a hardlink to an earlier copy of the same inode.
func (c *copier) copyFile(fd int, st *unix.Stat_t, srcRel string, dfd int, dstRel, name string) error {
	key := devIno{uint64(st.Dev), st.Ino}
	if st.Nlink > 1 {
		if h, ok := c.links[key]; ok {
			err := unix.Linkat(h, "", dfd, name, unix.AT_EMPTY_PATH)
			if err == nil {
				return nil
			}
			// Without CAP_DAC_READ_SEARCH linkat(AT_EMPTY_PATH) fails:
			// fall back to a copy.
		}
	}
	out, err := fsat.Openat(dfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW)
	if err != nil {
		return fmt.Errorf("copy %s: create /%s: %w", srcRel, dstRel, err)
	}
	defer unix.Close(out)
	if err := copyData(out, fd); err != nil {
		return fmt.Errorf("copy %s to /%s: %w", srcRel, dstRel, err)
	}
	if err := c.copyXattrs(fd, out, srcRel); err != nil {
		return err
	}
	if err := c.meta(out, st, dstRel); err != nil {
		return err
	}
	if st.Nlink > 1 && len(c.links) < maxLinkHandles {
		if h, err := reopen(out, unix.O_PATH); err == nil {
			c.links[key] = h
		}
	}
	return nil
}

// copyData copies in to out; os.File's ReadFrom uses
// copy_file_range (reflinks on filesystems that have them) and falls
// back to read/write.
func copyData(out, in int) error {
	if _, err := unix.Seek(in, 0, io.SeekStart); err != nil {
		return err
	}
	ofd, err := unix.Dup(out)
	if err != nil {
		return err
	}
	ifd, err := unix.Dup(in)
	if err != nil {
		unix.Close(ofd)
		return err
	}
	of := os.NewFile(uintptr(ofd), "dst")
	inf := os.NewFile(uintptr(ifd), "src")
	defer of.Close()
	defer inf.Close()
	_, err = io.Copy(of, inf)
	return err
}

// meta sets owner, mode and times on the open destination fd.
func (c *copier) meta(fd int, st *unix.Stat_t, dstRel string) error {
	own := c.owner()
	if err := unix.Fchown(fd, own.UID, own.GID); err != nil {
		return fmt.Errorf("chown /%s: %w", dstRel, err)
	}
	if err := unix.Fchmod(fd, c.mode(st)); err != nil {
		return fmt.Errorf("chmod /%s: %w", dstRel, err)
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(fd, "", ts, unix.AT_EMPTY_PATH); err != nil {
		// Older kernels lack AT_EMPTY_PATH for utimensat: go through
		// our own fd link.
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), ts, 0); err != nil {
			return fmt.Errorf("set times on /%s: %w", dstRel, err)
		}
	}
	return nil
}

// finish sets owner, times and (for nodes) mode on name in dfd without
// following it: used for symlinks, FIFOs and devices.
func (c *copier) finish(dfd int, name string, st *unix.Stat_t, chmod bool, dstRel string) error {
	own := c.owner()
	if err := unix.Fchownat(dfd, name, own.UID, own.GID, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown /%s: %w", dstRel, err)
	}
	if chmod {
		// Not a symlink (just made by mknodat in a directory we hold),
		// so fchmodat cannot be led elsewhere.
		if err := unix.Fchmodat(dfd, name, c.mode(st), 0); err != nil {
			return fmt.Errorf("chmod /%s: %w", dstRel, err)
		}
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(dfd, name, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times on /%s: %w", dstRel, err)
	}
	return nil
}

// owner is the owner of created entries.
func (c *copier) owner() Owner {
	if c.o.Chown != nil {
		return *c.o.Chown
	}
	return Owner{}
}

// mode is the permission bits (with setuid, setgid and sticky) an entry
// gets: the source's, or --chmod's.
func (c *copier) mode(st *unix.Stat_t) uint32 {
	if c.o.Chmod != nil {
		return uint32(c.o.Chmod.Perm()) | uint32(modeSpecial(*c.o.Chmod))
	}
	return st.Mode & 0o7777
}

// copyXattrs copies the extended attributes of the open file in to out,
// without overlayfs' own and SELinux labels (the destination's policy
// labels it). Filesystems without xattrs are not an error.
func (c *copier) copyXattrs(in, out int, srcRel string) error {
	names, err := fsat.Grow(func(b []byte) (int, error) { return unix.Flistxattr(in, b) })
	if err != nil {
		if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) {
			return nil
		}
		return fmt.Errorf("list xattrs of %s: %w", srcRel, err)
	}
	for _, n := range strings.Split(strings.TrimRight(string(names), "\x00"), "\x00") {
		if n == "" || strings.HasPrefix(n, "trusted.overlay.") || strings.HasPrefix(n, "user.overlay.") || n == "security.selinux" {
			continue
		}
		v, err := fsat.Grow(func(b []byte) (int, error) { return unix.Fgetxattr(in, n, b) })
		if err != nil {
			continue // removed meanwhile, or not readable: best effort
		}
		if err := unix.Fsetxattr(out, n, v, 0); err != nil && !errors.Is(err, unix.ENOTSUP) && !errors.Is(err, unix.EPERM) {
			return fmt.Errorf("copy xattr %s of %s: %w", n, srcRel, err)
		}
	}
	return nil
}
