package native

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// CopyTree copies the tree at src into the existing directory dst,
// keeping file types, modes (set-id bits included), owners, access and
// modification times, extended attributes (security.capability, ACLs,
// overlay's trusted.* marks) and hard links within the tree. Devices and
// fifos are recreated; sockets are skipped (they mean nothing once their
// process is gone). File data is shared with FICLONE where the filesystem
// can, else copied in the kernel with copy_file_range.
//
// Every lookup is relative to an open directory and never follows a
// symlink, so a link in the tree, or one swapped in during the copy, can
// make the copy fail but never read or write outside src and dst.
func CopyTree(ctx context.Context, dst, src string) error {
	sd, err := openDir(unix.AT_FDCWD, src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	defer sd.Close()
	dd, err := openDir(unix.AT_FDCWD, dst)
	if err != nil {
		return fmt.Errorf("copy to %s: %w", dst, err)
	}
	defer dd.Close()
	c := &copier{dst: dst, links: make(map[inode]string)}
	if err := c.copyDir(ctx, sd, dd, "."); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(sd.Fd()), &st); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := copyAttrs(int(sd.Fd()), int(dd.Fd()), ".", &st); err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return nil
}

type inode struct{ dev, ino uint64 }

type copier struct {
	dst   string
	links map[inode]string // first copy of a hard-linked file, path under dst
}

func openDir(dirfd int, name string) (*os.File, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), name), nil
}

// copyDir copies the entries of the open directory sd into dd; rel is
// its path under the roots, for messages and hard links.
func (c *copier) copyDir(ctx context.Context, sd, dd *os.File, rel string) error {
	names, err := sd.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("copy %s: %w", rel, err)
	}
	sfd, dfd := int(sd.Fd()), int(dd.Fd())
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := filepath.Join(rel, name)
		if err := c.copyEntry(ctx, sfd, dfd, name, p); err != nil {
			return fmt.Errorf("copy %s: %w", p, err)
		}
	}
	return nil
}

func (c *copier) copyEntry(ctx context.Context, sfd, dfd int, name, rel string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(sfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	typ := st.Mode & unix.S_IFMT
	if typ == unix.S_IFSOCK {
		return nil
	}
	if typ != unix.S_IFDIR && st.Nlink > 1 {
		k := inode{st.Dev, st.Ino}
		if first, ok := c.links[k]; ok {
			return unix.Linkat(unix.AT_FDCWD, filepath.Join(c.dst, first), dfd, name, 0)
		}
		c.links[k] = rel
	}
	switch typ {
	case unix.S_IFDIR:
		if err := unix.Mkdirat(dfd, name, 0o700); err != nil {
			return err
		}
		sub, err := openDir(sfd, name)
		if err != nil {
			return err
		}
		defer sub.Close()
		dsub, err := openDir(dfd, name)
		if err != nil {
			return err
		}
		defer dsub.Close()
		if err := c.copyDir(ctx, sub, dsub, rel); err != nil {
			return err
		}
	case unix.S_IFREG:
		if err := copyFile(sfd, dfd, name); err != nil {
			return err
		}
	case unix.S_IFLNK:
		target, err := readlinkat(sfd, name)
		if err != nil {
			return err
		}
		if err := unix.Symlinkat(target, dfd, name); err != nil {
			return err
		}
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO:
		if err := unix.Mknodat(dfd, name, st.Mode, int(st.Rdev)); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unsupported file type %#o", typ)
	}
	return copyAttrs(sfd, dfd, name, &st)
}

func readlinkat(dirfd int, name string) (string, error) {
	for size := 256; size <= 1<<20; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
	return "", errors.New("symlink target too long")
}

// copyFile copies a regular file's data: a reflink if the filesystem
// shares blocks, else copy_file_range, else read/write.
func copyFile(sfd, dfd int, name string) error {
	in, err := unix.Openat(sfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	src := os.NewFile(uintptr(in), name)
	defer src.Close()
	out, err := unix.Openat(dfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	dst := os.NewFile(uintptr(out), name)
	defer dst.Close()
	var st unix.Stat_t
	if err := unix.Fstat(in, &st); err != nil {
		return err
	}
	// O_NOFOLLOW does not stop a fifo or device swapped in after the
	// stat; only read what is still a regular file.
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return errors.New("changed type during copy")
	}
	if st.Size == 0 {
		return dst.Close()
	}
	if err := unix.IoctlFileClone(out, in); err == nil {
		return dst.Close()
	}
	for copied := int64(0); ; {
		n, err := unix.CopyFileRange(in, nil, out, nil, 1<<30, 0)
		if err != nil {
			if copied == 0 && (errors.Is(err, unix.EXDEV) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP)) {
				break
			}
			return fmt.Errorf("copy_file_range: %w", err)
		}
		if n == 0 {
			return dst.Close()
		}
		copied += int64(n)
	}
	if _, err := io.Copy(dst, src); err != nil {
		return err
	}
	return dst.Close()
}

// copyAttrs gives dfd/name the owner, mode, xattrs and times of
// sfd/name, in the order that keeps each: chown clears set-id bits and
// security.capability, so mode and xattrs come after it, and times last.
func copyAttrs(sfd, dfd int, name string, st *unix.Stat_t) error {
	if err := unix.Fchownat(dfd, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	isLink := st.Mode&unix.S_IFMT == unix.S_IFLNK
	if !isLink {
		if err := unix.Fchmodat(dfd, name, st.Mode&0o7777, 0); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	if err := copyXattrs(fdPath(sfd, name), fdPath(dfd, name)); err != nil {
		return err
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(dfd, name, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

// fdPath names dirfd/name through /proc/self/fd, so the l*xattr calls,
// which take paths, still resolve relative to the open directory.
func fdPath(dirfd int, name string) string {
	return "/proc/self/fd/" + strconv.Itoa(dirfd) + "/" + name
}

func copyXattrs(src, dst string) error {
	names, err := listXattrs(src)
	if err != nil {
		if errors.Is(err, unix.ENOTSUP) {
			return nil
		}
		return fmt.Errorf("list xattrs: %w", err)
	}
	for _, n := range names {
		v, err := getXattr(src, n)
		if err != nil {
			return fmt.Errorf("get xattr %s: %w", n, err)
		}
		if err := unix.Lsetxattr(dst, n, v, 0); err != nil {
			return fmt.Errorf("set xattr %s: %w", n, err)
		}
	}
	return nil
}

func listXattrs(path string) ([]string, error) {
	for {
		size, err := unix.Llistxattr(path, nil)
		if err != nil || size == 0 {
			return nil, err
		}
		buf := make([]byte, size)
		n, err := unix.Llistxattr(path, buf)
		if errors.Is(err, unix.ERANGE) {
			continue // grew meanwhile
		}
		if err != nil {
			return nil, err
		}
		var names []string
		for _, s := range strings.Split(string(buf[:n]), "\x00") {
			if s != "" {
				names = append(names, s)
			}
		}
		return names, nil
	}
}

func getXattr(path, name string) ([]byte, error) {
	for {
		size, err := unix.Lgetxattr(path, name, nil)
		if err != nil {
			return nil, err
		}
		buf := make([]byte, size)
		n, err := unix.Lgetxattr(path, name, buf)
		if errors.Is(err, unix.ERANGE) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}
