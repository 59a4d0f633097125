package layer

import (
	"archive/tar"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"berth/internal/fsat"
)

// overlayOpaque is the xattr overlayfs reads to hide lower directories.
const overlayOpaque = "trusted.overlay.opaque"

// whiteout applies a ".wh." entry found in directory dirRel.
//
// The directory holding a whiteout must be a real directory of the tree:
// intermediate symlinks resolve inside the root as for every entry, but a
// symlink as the whiteout's own directory is refused, since "deleting
// below a link" would act on whatever the link points to.
func (a *applier) whiteout(dirRel, base string, hdr *tar.Header) error {
	a.stale = true // whiteouts remove
	if base == WhiteoutOpaqueDir {
		return a.opaque(dirRel, hdr)
	}
	if strings.HasPrefix(base, WhiteoutMetaPrefix) {
		// AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not content.
		a.log.Debug("aufs metadata entry skipped", "name", hdr.Name)
		return nil
	}
	name := base[len(WhiteoutPrefix):]
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("invalid whiteout %q", base)
	}
	target := name
	if dirRel != "." {
		target = dirRel + "/" + name
	}
	if a.kept(target) {
		return nil // whiteouts hide lower layers, never this one
	}

	if a.opts.Whiteouts == WhiteoutsMerge {
		pfd, err := a.root.openDir(dirRel, true)
		if errors.Is(err, unix.ENOENT) {
			return nil // nothing below to delete
		}
		if err != nil {
			return dirErr("whiteout", dirRel, err)
		}
		defer unix.Close(pfd)
		return fsat.RemoveAt(pfd, name)
	}

	pfd, err := a.whiteoutDir(dirRel)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	if err := fsat.RemoveAt(pfd, name); err != nil {
		return err
	}
	// A 0:0 character device is overlayfs' whiteout.
	if err := unix.Mknodat(pfd, name, unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("make whiteout %s: %w", target, err)
	}
	if err := unix.UtimesNanoAt(pfd, name, times(hdr), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set whiteout times: %w", err)
	}
	return nil
}

// whiteoutDir opens (creating if needed) the directory a whiteout goes
// into in overlay mode, refusing a symlink as its last component.
func (a *applier) whiteoutDir(dirRel string) (int, error) {
	pfd, err := a.root.openDir(dirRel, true)
	if errors.Is(err, unix.ENOENT) {
		var fd int
		if fd, err = a.root.mkdirAll(dirRel); err == nil {
			unix.Close(fd)
			pfd, err = a.root.openDir(dirRel, true)
		}
	}
	if err != nil {
		return -1, dirErr("whiteout", dirRel, err)
	}
	return pfd, nil
}

// kept reports whether rel is this layer's own entry or holds one.
func (a *applier) kept(rel string) bool {
	if _, ok := a.added[rel]; ok {
		return true
	}
	_, ok := a.parents[rel]
	return ok
}

// opaque applies ".wh..wh..opq" in dirRel.
func (a *applier) opaque(dirRel string, hdr *tar.Header) error {
	if a.opts.Whiteouts == WhiteoutsOverlay {
		pfd, err := a.whiteoutDir(dirRel)
		if err != nil {
			return err
		}
		unix.Close(pfd)
		fd, err := a.root.open(dirRel, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
		if err != nil {
			return dirErr("opaque", dirRel, err)
		}
		defer unix.Close(fd)
		if err := unix.Fsetxattr(fd, overlayOpaque, []byte("y"), 0); err != nil {
			return fmt.Errorf("mark directory opaque: %w", err)
		}
		return nil
	}
	fd, err := a.root.open(dirRel, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return nil // nothing below to hide
	}
	if err != nil {
		return dirErr("opaque", dirRel, err)
	}
	defer unix.Close(fd)
	return a.clearLower(fd, dirRel)
}

// clearLower removes from the directory fd (at rel) everything that is
// not this layer's, and looks inside what is kept for lower leftovers.
func (a *applier) clearLower(fd int, rel string) error {
	names, err := fsat.ReadNames(fd)
	if err != nil {
		return fmt.Errorf("read %s: %w", rel, err)
	}
	for _, n := range names {
		p := n
		if rel != "." {
			p = rel + "/" + n
		}
		if !a.kept(p) {
			if err := fsat.RemoveAt(fd, n); err != nil {
				return fmt.Errorf("opaque %s: %w", rel, err)
			}
			continue
		}
		sub, err := fsat.Openat(fd, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
		if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
			continue
		}
		if err != nil {
			return fmt.Errorf("open %s: %w", p, err)
		}
		err = a.clearLower(sub, p)
		unix.Close(sub)
		if err != nil {
			return err
		}
	}
	return nil
}

// dirErr explains a failed lookup of the directory of a whiteout.
func dirErr(what, dirRel string, err error) error {
	if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
		return fmt.Errorf("%s directory %q is a symlink or not a directory: %w", what, dirRel, err)
	}
	return fmt.Errorf("%s directory %q: %w", what, dirRel, err)
}
