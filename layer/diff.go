package layer

import (
	"context"
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// Overlay xattrs that make an upper directory depend on more than its
// own entries; a layer tar cannot express them.
const (
	overlayRedirect = "trusted.overlay.redirect"
	overlayMetacopy = "trusted.overlay.metacopy"
)

// Diff writes the overlayfs upper directory upper as an OCI layer tar to
// w: every entry in name order, 0:0 character devices as ".wh.name"
// entries, directories with trusted.overlay.opaque=y followed by a
// ".wh..wh..opq" entry, hardlinks within the layer as tar links, and
// xattrs (except overlayfs' own) as PAX SCHILY.xattr records. The same
// tree always gives the same bytes. Upper directories made with
// redirect_dir or metacopy are refused: mount with both off.
func Diff(ctx context.Context, w io.Writer, upper string, opts DiffOptions) error {
	fd, err := openTree(upper)
	if err != nil {
		return fmt.Errorf("diff: %w", err)
	}
	defer unix.Close(fd)
	e := newEmitter(w, opts)
	err = walk(ctx, fd, ".", func(n *node) (int, error) {
		if n.isWhiteout() {
			return -1, e.whiteout(n.rel, n.st.Mtim)
		}
		xs, sub, err := e.entry(n)
		if err != nil {
			return -1, err
		}
		for _, x := range xs {
			switch {
			case x.name == overlayRedirect || x.name == overlayMetacopy:
				if sub >= 0 {
					unix.Close(sub)
				}
				return -1, fmt.Errorf("%s has %s: not expressible as a layer", n.rel, x.name)
			case x.name == overlayOpaque && x.value == "y" && n.isDir():
				if err := e.opaque(n.rel, n.st.Mtim); err != nil {
					unix.Close(sub)
					return -1, err
				}
			}
		}
		return sub, nil
	})
	if err != nil {
		return fmt.Errorf("diff %s: %w", upper, err)
	}
	if err := e.close(); err != nil {
		return fmt.Errorf("diff %s: %w", upper, err)
	}
	return nil
}
