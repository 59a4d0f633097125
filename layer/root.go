package layer

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// resolveInRoot is how every path of a layer is looked up: as if the
// target directory were "/" (so "..", absolute symlinks and symlinks that
// climb stay inside it), and never through a /proc magic link.
const resolveInRoot = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// root is the directory a layer is applied into or diffed from, held
// open so that every lookup is relative to this one inode.
type root struct {
	fd   int
	path string
}

// openRoot opens dir as the root of the layer.
func openRoot(dir string) (*root, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open layer root", Path: dir, Err: err}
	}
	return &root{fd: fd, path: dir}, nil
}

func (r *root) close() { unix.Close(r.fd) }

// open opens rel (clean, relative) inside the root with flags.
func (r *root) open(rel string, flags int) (int, error) {
	how := &unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: resolveInRoot}
	for {
		fd, err := unix.Openat2(r.fd, rel, how)
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		return fd, err
	}
}

// openDir returns an O_PATH handle on the directory rel inside the root.
// With nofollow a symlink as the final component is an error (ENOTDIR)
// instead of being resolved.
func (r *root) openDir(rel string, nofollow bool) (int, error) {
	flags := unix.O_PATH | unix.O_DIRECTORY
	if nofollow {
		flags |= unix.O_NOFOLLOW
	}
	return r.open(rel, flags)
}

// mkdirAll returns an O_PATH handle on the directory rel inside the
// root, creating missing directories (mode 0755, owned by the caller) on
// the way. Each step is resolved again from the root, so a symlink met on
// the way stays inside it, and only a missing final part is created, by
// mkdirat in the directory handle we hold.
func (r *root) mkdirAll(rel string) (int, error) {
	fd, err := r.openDir(rel, false)
	if err == nil || !errors.Is(err, unix.ENOENT) {
		return fd, err
	}
	parts := strings.Split(rel, "/")
	cur, err := unix.Dup(r.fd)
	if err != nil {
		return -1, err
	}
	for i, name := range parts {
		next, err := r.openDir(strings.Join(parts[:i+1], "/"), false)
		if errors.Is(err, unix.ENOENT) {
			if err := unix.Mkdirat(cur, name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
				unix.Close(cur)
				return -1, fmt.Errorf("mkdir %s: %w", strings.Join(parts[:i+1], "/"), err)
			}
			next, err = openat(cur, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW)
			var st unix.Stat_t
			if err != nil && unix.Fstatat(cur, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
				// A dangling symlink: its target is not made, as tar(1)
				// does not make it either.
				unix.Close(cur)
				return -1, fmt.Errorf("%s is a symlink to a missing directory", strings.Join(parts[:i+1], "/"))
			}
		}
		unix.Close(cur)
		if err != nil {
			return -1, fmt.Errorf("open %s: %w", strings.Join(parts[:i+1], "/"), err)
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

// removeAt removes name in dirfd and, if it is a directory, everything
// below it. Nothing is followed: subdirectories are opened O_NOFOLLOW
// relative to their parent's handle. A missing name is not an error.
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
		return fmt.Errorf("remove %s: %w", name, err)
	}
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove directory %s: %w", name, err)
	}
	return nil
}

// readNames lists the directory open as fd (not O_PATH). The fd stays
// open and owned by the caller.
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

// procPath names the entry base in the directory handle dirfd through
// /proc/self/fd, for the few calls that take only a path (lsetxattr,
// llistxattr). The magic link is our own descriptor, so the walk cannot
// leave the directory, and the l* calls do not follow a final symlink.
func procPath(dirfd int, base string) string {
	return "/proc/self/fd/" + strconv.Itoa(dirfd) + "/" + base
}

// procFD names the file open as fd through /proc/self/fd.
func procFD(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }
