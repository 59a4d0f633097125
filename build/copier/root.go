package copier

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// inRoot is how every destination path is looked up: as if the root
// were "/", and never through a /proc magic link.
const inRoot = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// root is a directory held open so that every lookup is relative to
// this one inode.
type root struct {
	fd   int
	path string
}

// openRoot opens dir as a root.
func openRoot(dir string) (*root, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open root", Path: dir, Err: err}
	}
	return &root{fd: fd, path: dir}, nil
}

func (r *root) close() { unix.Close(r.fd) }

// open opens rel (relative, slash-separated) inside the root.
func (r *root) open(rel string, flags int) (int, error) {
	if rel == "" {
		rel = "."
	}
	how := &unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: inRoot}
	for {
		fd, err := unix.Openat2(r.fd, rel, how)
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		return fd, err
	}
}

// mkdirAll returns a descriptor (O_RDONLY|O_DIRECTORY) on the directory
// rel inside the root, creating missing parts with mode 0755 owned by
// own (nil: the caller). Each step is resolved again from the root, so a
// symlink met on the way stays inside it.
func (r *root) mkdirAll(rel string, own *Owner) (int, error) {
	rel = strings.Trim(rel, "/")
	fd, err := r.open(rel, unix.O_RDONLY|unix.O_DIRECTORY)
	if err == nil || !errors.Is(err, unix.ENOENT) {
		if err != nil {
			return -1, fmt.Errorf("open /%s: %w", rel, err)
		}
		return fd, nil
	}
	parts := strings.Split(rel, "/")
	cur, err := r.open(".", unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return -1, err
	}
	for i, name := range parts {
		sub := strings.Join(parts[:i+1], "/")
		next, err := r.open(sub, unix.O_RDONLY|unix.O_DIRECTORY)
		if errors.Is(err, unix.ENOENT) {
			if err := unix.Mkdirat(cur, name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
				unix.Close(cur)
				return -1, fmt.Errorf("mkdir /%s: %w", sub, err)
			}
			next, err = openat(cur, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
			var st unix.Stat_t
			if err != nil && unix.Fstatat(cur, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
				// A link whose target is missing inside the root: its
				// target is not made (mkdir -p does not either).
				unix.Close(cur)
				return -1, fmt.Errorf("/%s is a symlink to a missing directory", sub)
			}
			if err == nil {
				// 0755 whatever the process umask, as Docker makes them.
				err = unix.Fchmod(next, 0o755)
				if err == nil && own != nil {
					err = unix.Fchown(next, own.UID, own.GID)
				}
				if err != nil {
					unix.Close(next)
				}
			}
		}
		unix.Close(cur)
		if err != nil {
			return -1, fmt.Errorf("open /%s: %w", sub, err)
		}
		cur = next
	}
	return cur, nil
}

// openat is openat(2) with O_CLOEXEC, retried on EINTR.
func openat(dirfd int, name string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags|unix.O_CLOEXEC, 0)
		if err == unix.EINTR {
			continue
		}
		return fd, err
	}
}

// procPath names the entry base in the directory dirfd through
// /proc/self/fd, for calls that take only a path (lgetxattr). The magic
// link is our own descriptor, so the lookup cannot leave the directory.
func procPath(dirfd int, base string) string {
	return "/proc/self/fd/" + strconv.Itoa(dirfd) + "/" + base
}

// removeAt removes name in dirfd, and everything below it if it is a
// directory, never following a link.
func removeAt(dirfd int, name string) error {
	err := unix.Unlinkat(dirfd, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	fd, err := openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
	if err != nil {
		return fmt.Errorf("open %s for removal: %w", name, err)
	}
	names, err := readNames(fd)
	if err == nil {
		for _, n := range names {
			if err = removeAt(fd, n); err != nil {
				break
			}
		}
	}
	unix.Close(fd)
	if err != nil {
		return err
	}
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}

// readNames lists the directory open as fd; fd stays open.
func readNames(fd int) ([]string, error) {
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
