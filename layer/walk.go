package layer

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"golang.org/x/sys/unix"

	"berth/internal/fsat"
)

// node is one entry met while walking a tree. Entries are reached through
// the descriptor of their parent and never through a path, so a tree that
// changes under the walk (a running container) cannot make it follow a
// symlink out (the CVE-2018-15664 class of docker cp races).
type node struct {
	rel   string // path from the tree's root, "a/b"
	name  string
	dirfd int // parent directory, open for reading while the node is in use
	st    unix.Stat_t
}

func (n *node) kind() uint32 { return n.st.Mode & unix.S_IFMT }
func (n *node) isDir() bool  { return n.kind() == unix.S_IFDIR }

// isWhiteout reports an overlayfs whiteout: a 0:0 character device.
func (n *node) isWhiteout() bool { return n.kind() == unix.S_IFCHR && n.st.Rdev == 0 }

// open opens a regular file or directory node for reading.
func (n *node) open() (int, error) {
	flags := unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NOCTTY | unix.O_NONBLOCK
	if n.isDir() {
		flags |= unix.O_DIRECTORY
	}
	fd, err := fsat.Openat(n.dirfd, n.name, flags)
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", n.rel, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("stat %s: %w", n.rel, err)
	}
	if st.Ino != n.st.Ino || st.Dev != n.st.Dev {
		unix.Close(fd)
		return -1, fmt.Errorf("open %s: replaced during the walk", n.rel)
	}
	n.st = st
	return fd, nil
}

// xattrs lists the node's extended attributes; fd is the open node or -1.
func (n *node) xattrs(fd int) ([]xattr, error) {
	xs, err := listXattrs(n.dirfd, n.name, fd)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", n.rel, err)
	}
	return xs, nil
}

// linkTarget reads a symlink node.
func (n *node) linkTarget() (string, error) {
	buf := make([]byte, 256)
	for {
		m, err := unix.Readlinkat(n.dirfd, n.name, buf)
		if err != nil {
			return "", fmt.Errorf("readlink %s: %w", n.rel, err)
		}
		if m < len(buf) {
			return string(buf[:m]), nil
		}
		buf = make([]byte, 2*len(buf))
	}
}

// children lists the directory fd (at rel) sorted by name, so the output
// never depends on the order the filesystem returns entries in, and stats
// each without following symlinks.
func children(fd int, rel string) ([]node, error) {
	names, err := fsat.ReadNames(fd)
	if err != nil {
		return nil, fmt.Errorf("read directory %s: %w", relOrRoot(rel), err)
	}
	sort.Strings(names)
	nodes := make([]node, 0, len(names))
	for _, name := range names {
		n := node{rel: join(rel, name), name: name, dirfd: fd}
		if err := unix.Fstatat(fd, name, &n.st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue // removed while we looked
			}
			return nil, fmt.Errorf("stat %s: %w", n.rel, err)
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// openTree opens the directory at path as the root of a walk.
func openTree(path string) (int, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", path, err)
	}
	return fd, nil
}

// walkFunc visits one node; for a directory it returns the open
// descriptor to descend with (owned by the walk from then on) or -1 to
// skip its contents.
type walkFunc func(n *node) (sub int, err error)

// walk visits the tree under the directory fd (at rel) depth first,
// parents before children, each directory's entries in name order.
func walk(ctx context.Context, fd int, rel string, fn walkFunc) error {
	nodes, err := children(fd, rel)
	if err != nil {
		return err
	}
	for i := range nodes {
		if err := ctx.Err(); err != nil {
			return err
		}
		sub, err := fn(&nodes[i])
		if err != nil {
			return err
		}
		if sub < 0 {
			continue
		}
		err = walk(ctx, sub, nodes[i].rel, fn)
		unix.Close(sub)
		if err != nil {
			return err
		}
	}
	return nil
}

// join appends name to a relative path ("." is the root).
func join(rel, name string) string {
	if rel == "." || rel == "" {
		return name
	}
	return rel + "/" + name
}

func relOrRoot(rel string) string {
	if rel == "" || rel == "." {
		return "/"
	}
	return rel
}
