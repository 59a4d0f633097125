package layer

import (
	"context"
	"fmt"
	"io"
	"sort"

	"golang.org/x/sys/unix"
)

// ChangeKind is what happened to a path.
type ChangeKind int

const (
	// Added is a path that did not exist below.
	Added ChangeKind = iota + 1
	// Modified is a path whose content or metadata changed. As in Docker,
	// the directories holding a change usually show as modified too
	// (their mtime moved).
	Modified
	// Deleted is a path that is gone; only the top of a deleted subtree
	// is reported.
	Deleted
)

// String is the letter `docker diff` prints: A, C or D.
func (k ChangeKind) String() string {
	switch k {
	case Added:
		return "A"
	case Modified:
		return "C"
	case Deleted:
		return "D"
	}
	return fmt.Sprintf("ChangeKind(%d)", int(k))
}

// Change is one changed path.
type Change struct {
	Kind ChangeKind
	// Path is absolute, as seen in the container: "/etc/hosts".
	Path string
}

// String formats the change as `docker diff` does: "C /etc".
func (c Change) String() string { return c.Kind.String() + " " + c.Path }

// DiffDirs writes the changes from the tree lower to the tree upper as an
// OCI layer tar to w (for a copy-based snapshotter, where upper started as
// a copy of lower): added and modified entries with their content, the
// directories above them (so the layer carries their metadata), and
// ".wh." entries for deletions. Whiteout entries carry the mtime of the
// directory that lost the entry, so the output depends on the trees only.
func DiffDirs(ctx context.Context, w io.Writer, lower, upper string, opts DiffOptions) error {
	e := newEmitter(w, opts)
	if err := compareTrees(ctx, lower, upper, tarHandler{e}); err != nil {
		return fmt.Errorf("diff %s against %s: %w", upper, lower, err)
	}
	if err := e.close(); err != nil {
		return fmt.Errorf("diff %s against %s: %w", upper, lower, err)
	}
	return nil
}

// tarHandler writes the changes of a two-tree comparison as a tar.
type tarHandler struct{ e *emitter }

func (t tarHandler) parents(anc []*node) error {
	for _, a := range anc {
		if t.e.written[a.rel] {
			continue
		}
		_, fd, err := t.e.entry(a)
		if fd >= 0 {
			unix.Close(fd)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (t tarHandler) changed(_ ChangeKind, u *node, anc []*node) error {
	if err := t.parents(anc); err != nil {
		return err
	}
	_, fd, err := t.e.entry(u)
	if fd >= 0 {
		unix.Close(fd)
	}
	return err
}

func (t tarHandler) deleted(rel string, mtime unix.Timespec, anc []*node) error {
	if err := t.parents(anc); err != nil {
		return err
	}
	return t.e.whiteout(rel, mtime)
}

// ChangesDirs lists the changes from the tree lower to the tree upper,
// sorted by path: the `berth diff` of a copy-based container.
func ChangesDirs(ctx context.Context, lower, upper string) ([]Change, error) {
	var c changeList
	if err := compareTrees(ctx, lower, upper, &c); err != nil {
		return nil, fmt.Errorf("changes of %s against %s: %w", upper, lower, err)
	}
	c.sort()
	return c, nil
}

// changeList collects changes.
type changeList []Change

func (c *changeList) changed(kind ChangeKind, u *node, _ []*node) error {
	*c = append(*c, Change{Kind: kind, Path: "/" + u.rel})
	return nil
}

func (c *changeList) deleted(rel string, _ unix.Timespec, _ []*node) error {
	*c = append(*c, Change{Kind: Deleted, Path: "/" + rel})
	return nil
}

func (c changeList) sort() {
	sort.Slice(c, func(i, j int) bool { return c[i].Path < c[j].Path })
}
