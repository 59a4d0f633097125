package layer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"berth/internal/fsat"
)

// Changes lists the changes an overlayfs upper directory makes to its
// lower directories (lowers, top first, as in the lowerdir= option),
// sorted by path: the `berth diff` of an overlay container. Whiteouts are
// deletions; an upper entry is added when the lower layers do not show
// that path and modified when they do (so copied-up directories above a
// change are modified, as Docker reports them); an opaque directory also
// deletes every lower entry in it that the upper one does not hold.
func Changes(ctx context.Context, upper string, lowers []string) ([]Change, error) {
	lv, err := openLowerView(lowers)
	if err != nil {
		return nil, fmt.Errorf("changes of %s: %w", upper, err)
	}
	defer lv.close()
	fd, err := openTree(upper)
	if err != nil {
		return nil, fmt.Errorf("changes of %s: %w", upper, err)
	}
	defer unix.Close(fd)
	var c changeList
	err = walk(ctx, fd, ".", func(n *node) (int, error) {
		if n.isWhiteout() {
			if lv.exists(n.rel) {
				c = append(c, Change{Kind: Deleted, Path: "/" + n.rel})
			}
			return -1, nil
		}
		kind := Added
		if lv.exists(n.rel) {
			kind = Modified
		}
		c = append(c, Change{Kind: kind, Path: "/" + n.rel})
		if !n.isDir() {
			return -1, nil
		}
		sub, err := n.open()
		if err != nil {
			return -1, err
		}
		opq, err := getXattr(sub, overlayOpaque)
		if err != nil {
			unix.Close(sub)
			return -1, fmt.Errorf("%s: %w", n.rel, err)
		}
		if opq == "y" && kind == Modified {
			gone, err := lv.hiddenBy(sub, n.rel)
			if err != nil {
				unix.Close(sub)
				return -1, err
			}
			c = append(c, gone...)
		}
		return sub, nil
	})
	if err != nil {
		return nil, fmt.Errorf("changes of %s: %w", upper, err)
	}
	c.sort()
	return c, nil
}

// lowerView answers what the stack of lower directories shows at a path,
// with overlayfs' rules: the top layer holding the path wins, a whiteout
// hides it, and an opaque directory or a non-directory hides what layers
// below hold under it. Lookups never follow symlinks (overlayfs does not
// merge through them) and stay beneath each layer.
type lowerView struct{ fds []int }

func openLowerView(lowers []string) (*lowerView, error) {
	lv := &lowerView{}
	for _, l := range lowers {
		fd, err := unix.Open(l, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			lv.close()
			return nil, fmt.Errorf("open lower %s: %w", l, err)
		}
		lv.fds = append(lv.fds, fd)
	}
	return lv, nil
}

func (lv *lowerView) close() {
	for _, fd := range lv.fds {
		unix.Close(fd)
	}
}

// lookup opens rel beneath the layer fd without following any symlink.
func lookup(fd int, rel string, flags int) (int, error) {
	how := &unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC | unix.O_NOFOLLOW),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	for {
		r, err := unix.Openat2(fd, rel, how)
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		return r, err
	}
}

// exists reports whether the lower layers show rel.
func (lv *lowerView) exists(rel string) bool {
	for _, fd := range lv.fds {
		p, err := lookup(fd, rel, unix.O_PATH)
		if err == nil {
			var st unix.Stat_t
			err = unix.Fstat(p, &st)
			unix.Close(p)
			return err == nil && !(st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0)
		}
		if blocks(fd, rel, err) {
			return false
		}
	}
	return false
}

// blocks reports whether a layer that lacks rel (lookup failed with err)
// hides it in the layers below: a path component there is not a
// directory, or one of rel's directories there is opaque.
func blocks(fd int, rel string, err error) bool {
	if !errors.Is(err, unix.ENOENT) {
		return true // ENOTDIR, ELOOP: a non-directory on the way hides it
	}
	parts := strings.Split(rel, "/")
	for i := 1; i < len(parts); i++ {
		d, err := lookup(fd, strings.Join(parts[:i], "/"), unix.O_RDONLY|unix.O_DIRECTORY)
		if err != nil {
			return false
		}
		opq, _ := getXattr(d, overlayOpaque)
		unix.Close(d)
		if opq == "y" {
			return true
		}
	}
	return false
}

// hiddenBy lists, as deletions, the entries the lower layers show in the
// directory rel that the opaque upper directory fd does not hold.
func (lv *lowerView) hiddenBy(fd int, rel string) ([]Change, error) {
	mine, err := fsat.ReadNames(fd)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", rel, err)
	}
	have := map[string]bool{}
	for _, n := range mine {
		have[n] = true
	}
	seen := map[string]bool{}
	var gone []Change
	for _, lfd := range lv.fds {
		d, err := lookup(lfd, rel, unix.O_RDONLY|unix.O_DIRECTORY)
		if err != nil {
			if blocks(lfd, rel, err) {
				break
			}
			continue
		}
		names, err := fsat.ReadNames(d)
		opq, _ := getXattr(d, overlayOpaque)
		unix.Close(d)
		if err != nil {
			return nil, fmt.Errorf("read lower %s: %w", rel, err)
		}
		for _, n := range names {
			p := join(rel, n)
			if have[n] || seen[n] {
				continue
			}
			seen[n] = true
			if lv.exists(p) {
				gone = append(gone, Change{Kind: Deleted, Path: "/" + p})
			}
		}
		if opq == "y" {
			break
		}
	}
	return gone, nil
}
