package layer

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// treeHandler receives the changes found by comparing two trees.
type treeHandler interface {
	// changed reports an added or modified upper entry u; ancestors are
	// the upper directories above it, outermost first.
	changed(kind ChangeKind, u *node, ancestors []*node) error
	// deleted reports an entry of the lower tree missing from the upper
	// one; mtime is that of the upper directory that lost it.
	deleted(rel string, mtime unix.Timespec, ancestors []*node) error
}

// compareTrees walks lower and upper together and reports to h every
// difference: entries only in upper are added (a new directory's whole
// contents too), entries only in lower deleted (only the top of a
// deleted subtree), entries in both that differ modified (same rules as
// containerd's fs.Changes, see same).
func compareTrees(ctx context.Context, lower, upper string, h treeHandler) error {
	lfd, err := openTree(lower)
	if err != nil {
		return err
	}
	defer unix.Close(lfd)
	ufd, err := openTree(upper)
	if err != nil {
		return err
	}
	defer unix.Close(ufd)
	var st unix.Stat_t
	if err := unix.Fstat(ufd, &st); err != nil {
		return fmt.Errorf("stat %s: %w", upper, err)
	}
	return comparePair(ctx, lfd, ufd, ".", st.Mtim, nil, h)
}

// comparePair compares the directory lfd (or -1: nothing below) with ufd.
func comparePair(ctx context.Context, lfd, ufd int, rel string, umtime unix.Timespec, anc []*node, h treeHandler) error {
	var lnodes []node
	var err error
	if lfd >= 0 {
		if lnodes, err = children(lfd, rel); err != nil {
			return err
		}
	}
	unodes, err := children(ufd, rel)
	if err != nil {
		return err
	}
	i, j := 0, 0
	for i < len(lnodes) || j < len(unodes) {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch {
		case j == len(unodes) || (i < len(lnodes) && lnodes[i].name < unodes[j].name):
			if err := h.deleted(lnodes[i].rel, umtime, anc); err != nil {
				return err
			}
			i++
			continue
		case i == len(lnodes) || unodes[j].name < lnodes[i].name:
			if err := visitUpper(ctx, nil, &unodes[j], anc, h); err != nil {
				return err
			}
			j++
			continue
		}
		if err := visitUpper(ctx, &lnodes[i], &unodes[j], anc, h); err != nil {
			return err
		}
		i++
		j++
	}
	return nil
}

// visitUpper reports the upper entry u (l is its lower counterpart or
// nil) and descends into it when it is a directory.
func visitUpper(ctx context.Context, l, u *node, anc []*node, h treeHandler) error {
	kind := Added
	if l != nil {
		kind = Modified
		same, err := sameNode(l, u)
		if err != nil {
			return err
		}
		if same {
			kind = 0
		}
	}
	if kind != 0 {
		if err := h.changed(kind, u, anc); err != nil {
			return err
		}
	}
	if !u.isDir() {
		return nil
	}
	ufd, err := u.open()
	if err != nil {
		return err
	}
	defer unix.Close(ufd)
	lfd := -1
	if l != nil && l.isDir() {
		if lfd, err = l.open(); err != nil {
			return err
		}
		defer unix.Close(lfd)
	}
	return comparePair(ctx, lfd, ufd, u.rel, u.st.Mtim, append(anc[:len(anc):len(anc)], u), h)
}

// same reports whether two entries are the same: same type, mode, owner,
// mtime, xattrs, and size, link target or device number by type. A
// regular file whose mtime has no sub-second part (copied by a tool that
// truncates times) is also compared byte for byte, since a second is too
// coarse to tell edits apart.
func sameNode(l, u *node) (bool, error) {
	ls, us := &l.st, &u.st
	if ls.Mode != us.Mode || ls.Uid != us.Uid || ls.Gid != us.Gid || ls.Mtim != us.Mtim {
		return false, nil
	}
	switch l.kind() {
	case unix.S_IFREG:
		if ls.Size != us.Size {
			return false, nil
		}
	case unix.S_IFCHR, unix.S_IFBLK:
		if ls.Rdev != us.Rdev {
			return false, nil
		}
	case unix.S_IFLNK:
		lt, err := l.linkTarget()
		if err != nil {
			return false, err
		}
		ut, err := u.linkTarget()
		if err != nil || lt != ut {
			return false, err
		}
	}
	open := l.kind() == unix.S_IFREG || l.kind() == unix.S_IFDIR
	lfd, ufd := -1, -1
	if open {
		var err error
		if lfd, err = l.open(); err != nil {
			return false, err
		}
		defer unix.Close(lfd)
		if ufd, err = u.open(); err != nil {
			return false, err
		}
		defer unix.Close(ufd)
	}
	lx, err := l.xattrs(lfd)
	if err != nil {
		return false, err
	}
	ux, err := u.xattrs(ufd)
	if err != nil {
		return false, err
	}
	if len(lx) != len(ux) {
		return false, nil
	}
	for k := range lx {
		if lx[k] != ux[k] {
			return false, nil
		}
	}
	if l.kind() != unix.S_IFREG || ls.Mtim.Nsec != 0 || (ls.Dev == us.Dev && ls.Ino == us.Ino) {
		return true, nil
	}
	return sameContent(lfd, ufd)
}

// sameContent compares two open files byte for byte.
func sameContent(a, b int) (bool, error) {
	fa, fb := fdReader(a), fdReader(b)
	ba, bb := make([]byte, 32<<10), make([]byte, 32<<10)
	for {
		na, erra := io.ReadFull(fa, ba)
		nb, errb := io.ReadFull(fb, bb)
		if !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		if erra == io.EOF || erra == io.ErrUnexpectedEOF {
			return errb == io.EOF || errb == io.ErrUnexpectedEOF, nil
		}
		if erra != nil {
			return false, fmt.Errorf("compare: %w", erra)
		}
		if errb != nil {
			if errb == io.EOF || errb == io.ErrUnexpectedEOF {
				return false, nil
			}
			return false, fmt.Errorf("compare: %w", errb)
		}
	}
}

// fdReader reads a descriptor the caller keeps owning (an *os.File
// would close it again from its finalizer).
type fdReader int

func (f fdReader) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(int(f), p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n == 0 && len(p) > 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}
