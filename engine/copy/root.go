package copy

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// resolveInRoot makes openat2 resolve a path as if the root descriptor
// were "/": "..", absolute symlinks and climbing symlinks stay inside it,
// and /proc magic links are refused.
const resolveInRoot = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// root is a directory (a container's root filesystem, or a host
// destination) held open so that every lookup starts from this inode.
type root struct {
	fd   int
	path string
	real string // the directory's path as the kernel sees it, for inRoot
}

// openRoot opens dir as a root.
func openRoot(dir string) (*root, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open root", Path: dir, Err: err}
	}
	real, err := fdPath(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("open root %s: %w", dir, err)
	}
	return &root{fd: fd, path: dir, real: real}, nil
}

func (r *root) close() { unix.Close(r.fd) }

// open opens rel (relative to the root; a leading "/" is allowed) with
// flags, resolving every component inside the root.
func (r *root) open(rel string, flags int) (int, error) {
	rel = strings.TrimLeft(rel, "/")
	if rel == "" {
		rel = "."
	}
	how := &unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: resolveInRoot}
	for {
		fd, err := unix.Openat2(r.fd, rel, how)
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			// EAGAIN: a rename raced the lookup; the kernel asks us to retry.
			continue
		}
		return fd, err
	}
}

// inRoot returns the path, inside the root, of the file open as fd, which
// was reached through the root (so it is below it).
func (r *root) inRoot(fd int) (string, error) {
	p, err := fdPath(fd)
	if err != nil {
		return "", err
	}
	if r.real == "/" {
		return path.Clean(p), nil
	}
	if p == r.real {
		return "/", nil
	}
	if !strings.HasPrefix(p, r.real+"/") {
		// Moved out of the root (or deleted) since it was opened.
		return "", fmt.Errorf("%s is no longer inside %s", p, r.path)
	}
	return p[len(r.real):], nil
}

// fdPath is the path the kernel records for an open descriptor.
func fdPath(fd int) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlink(procFD(fd), buf)
	if err != nil {
		return "", fmt.Errorf("readlink %s: %w", procFD(fd), err)
	}
	p := string(buf[:n])
	if !strings.HasPrefix(p, "/") || strings.HasSuffix(p, " (deleted)") {
		return "", fmt.Errorf("descriptor %d names %q, not a live path", fd, p)
	}
	return p, nil
}

// procFD names the file open as fd through /proc/self/fd. Reopening it
// reopens that very inode: no path is looked up again.
func procFD(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// procPath names the entry base of the directory open as dirfd, for the
// few calls that take only a path (lsetxattr, lgetxattr); the l* calls do
// not follow a final symlink and the directory is our own descriptor.
func procPath(dirfd int, base string) string { return procFD(dirfd) + "/" + base }

// openat is openat(2) with O_CLOEXEC, retried on EINTR.
func openat(dirfd int, name string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return fd, err
	}
}

// readlinkat reads the symlink base in dirfd, whatever its length.
func readlinkat(dirfd int, base string) (string, error) {
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

// readNames lists the directory open (for reading) as fd; fd stays open.
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

// removeAt removes name in dirfd and everything below it, following
// nothing: subdirectories are opened O_NOFOLLOW from their parent's
// descriptor. A missing name is not an error.
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
