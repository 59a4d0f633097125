// Package fsat holds the file system calls that work relative to an open
// directory descriptor, shared by the packages that write into a tree they
// must not leave (layer application, cp into a container, build's COPY):
// lookups confined to a root with openat2, and removal, listing and
// symlink reading that never follow a link.
package fsat

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// InRoot makes openat2 resolve a path as if the root descriptor were "/":
// "..", absolute symlinks and climbing symlinks stay inside it, and /proc
// magic links are refused.
const InRoot = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// OpenRoot opens dir as an O_PATH directory handle to resolve in.
func OpenRoot(dir string) (int, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open root", Path: dir, Err: err}
	}
	return fd, nil
}

// OpenInRoot opens rel (relative to root; a leading "/" is allowed, ""
// is the root itself) with flags, every component resolved inside root.
func OpenInRoot(root int, rel string, flags int) (int, error) {
	rel = strings.TrimLeft(rel, "/")
	if rel == "" {
		rel = "."
	}
	how := &unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: InRoot}
	for {
		fd, err := unix.Openat2(root, rel, how)
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			// EAGAIN: a rename raced the lookup; the kernel asks us to retry.
			continue
		}
		return fd, err
	}
}

// Openat is openat(2) with O_CLOEXEC, retried on EINTR.
func Openat(dirfd int, name string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return fd, err
	}
}

// ProcFD names the file open as fd through /proc/self/fd. Reopening it
// reopens that very inode: no path is looked up again.
func ProcFD(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// ProcPath names the entry base of the directory open as dirfd, for the
// few calls that take only a path (lsetxattr, lgetxattr); the l* calls do
// not follow a final symlink and the directory is our own descriptor.
func ProcPath(dirfd int, base string) string { return ProcFD(dirfd) + "/" + base }

// Readlinkat reads the symlink base in dirfd, whatever its length.
func Readlinkat(dirfd int, base string) (string, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Readlinkat(dirfd, base, buf)
		if err != nil {
			return "", err
		}
		if n < len(buf) {
			return string(buf[:n]), nil
		}
		buf = make([]byte, 2*len(buf))
	}
}

// ReadNames lists the directory open (for reading) as fd; fd stays open.
func ReadNames(fd int) ([]string, error) {
	dup, err := unix.Dup(fd)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(dup), "dir")
	defer f.Close()
	if _, err := unix.Seek(dup, 0, 0); err != nil {
		return nil, err
	}
	return f.Readdirnames(-1)
}

// RemoveAt removes name in dirfd and, if it is a directory, everything
// below it. Nothing is followed: subdirectories are opened O_NOFOLLOW
// relative to their parent's handle. A missing name is not an error.
func RemoveAt(dirfd int, name string) error {
	err := unix.Unlinkat(dirfd, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	fd, err := Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
	if err != nil {
		return fmt.Errorf("open %s for removal: %w", name, err)
	}
	names, err := ReadNames(fd)
	if err == nil {
		for _, n := range names {
			if err = RemoveAt(fd, n); err != nil {
				break
			}
		}
	}
	unix.Close(fd)
	if err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove directory %s: %w", name, err)
	}
	return nil
}

// Grow calls a size-probing syscall (listxattr, getxattr and their f/l
// variants: a nil buffer asks for the size) until its buffer is big
// enough, and returns what it wrote.
func Grow(call func(dest []byte) (int, error)) ([]byte, error) {
	for {
		n, err := call(nil)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, nil
		}
		buf := make([]byte, n)
		m, err := call(buf)
		if errors.Is(err, unix.ERANGE) {
			continue // grew between the calls
		}
		if err != nil {
			return nil, err
		}
		return buf[:m], nil
	}
}

// MkdirAll returns a descriptor, opened with flags|O_DIRECTORY, on the
// directory rel (clean, relative) inside root, creating the missing
// directories on the way (mode 0755, owned by the caller). Each step is
// resolved again from root, so a symlink met on the way stays inside it,
// and only a missing last part is created, by mkdirat in the directory
// handle held; a symlink to a missing directory is an error (its target is
// not made, as tar(1) and mkdir -p do not make it). made, if set, is
// called on each directory created before the walk goes on. Errors name
// paths as shown+rel (the callers' own notation: "" or "/").
func MkdirAll(root int, rel string, flags int, shown string, made func(fd int) error) (int, error) {
	flags |= unix.O_DIRECTORY
	fd, err := OpenInRoot(root, rel, flags)
	if err == nil || !errors.Is(err, unix.ENOENT) {
		if err != nil {
			return -1, fmt.Errorf("open %s%s: %w", shown, rel, err)
		}
		return fd, nil
	}
	cur, err := OpenInRoot(root, ".", flags)
	if err != nil {
		return -1, err
	}
	parts := strings.Split(rel, "/")
	for i, name := range parts {
		sub := strings.Join(parts[:i+1], "/")
		next, err := OpenInRoot(root, sub, flags)
		if errors.Is(err, unix.ENOENT) {
			if err := unix.Mkdirat(cur, name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
				unix.Close(cur)
				return -1, fmt.Errorf("mkdir %s%s: %w", shown, sub, err)
			}
			next, err = Openat(cur, name, flags|unix.O_NOFOLLOW)
			var st unix.Stat_t
			if err != nil && unix.Fstatat(cur, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
				unix.Close(cur)
				return -1, fmt.Errorf("%s%s is a symlink to a missing directory", shown, sub)
			}
			if err == nil && made != nil {
				if err = made(next); err != nil {
					unix.Close(next)
				}
			}
		}
		unix.Close(cur)
		if err != nil {
			return -1, fmt.Errorf("open %s%s: %w", shown, sub, err)
		}
		cur = next
	}
	return cur, nil
}
