package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"berth/snapshot"
)

// etcLayerDir is c's /etc layer: a directory in its run directory (a
// tmpfs) with etc/hostname, etc/hosts and etc/resolv.conf, stacked on an
// overlay rootfs as the top lower layer. The files bound at those paths
// are these, so the mount points exist without a file (and a copy of
// /etc) made in the rootfs's upper directory for each container: four
// inodes the disk does not allocate, the most expensive of a start on a
// filesystem that skips recently freed inodes (ext4 without a journal).
// Docker's init layer does the same job, once per container on the disk.
func etcLayerDir(c *Container) string { return filepath.Join(c.RunDir, "etc-layer") }

// withEtcLayer makes c's /etc layer, with the files names (empty), if it
// is missing, and returns mounts with it on top of their lower layers, and
// the directory to write the /etc files in. (Only the files berth binds:
// an empty hosts file would hide the image's where the container keeps
// it, on the host's network.) Without a layer (not a single overlay
// mount, no run directory, no room for a layer, or an image whose /etc is
// not a directory) it returns mounts as they are and "".
func withEtcLayer(c *Container, mounts []snapshot.Mount, names []string) ([]snapshot.Mount, string, error) {
	if c.RunDir == "" || len(mounts) != 1 || mounts[0].Type != "overlay" {
		return mounts, "", nil
	}
	lowers := mounts[0].LowerDirs()
	layer := etcLayerDir(c)
	// Room for one more layer, in the one page mount(2) takes too (a
	// kernel before 6.8 has no other way; shortening the list to paths
	// relative to a common parent fails with the layer on another tree).
	esc := snapshot.JoinLowerDirs([]string{layer})
	size := len(esc) + 1 + len(strings.Join(mounts[0].Options, ","))
	if len(lowers) == 0 || len(lowers) >= snapshot.MaxLayers || size >= os.Getpagesize() {
		return mounts, "", nil
	}
	etc := filepath.Join(layer, "etc")
	if _, err := os.Lstat(etc); errors.Is(err, fs.ErrNotExist) {
		st, ok, err := imageEtc(lowers)
		if err != nil || !ok {
			return mounts, "", err
		}
		if err := makeEtcLayer(layer, st, names); err != nil {
			_ = os.RemoveAll(layer)
			return nil, "", fmt.Errorf("container %s: /etc layer: %w", c.ID, err)
		}
	} else if err != nil {
		return nil, "", fmt.Errorf("container %s: /etc layer: %w", c.ID, err)
	}
	m := mounts[0]
	m.Options = append([]string(nil), m.Options...)
	for i, o := range m.Options {
		if v, ok := strings.CutPrefix(o, "lowerdir="); ok {
			m.Options[i] = "lowerdir=" + esc + ":" + v
		}
	}
	return []snapshot.Mount{m}, etc, nil
}

// imageEtc finds the image's /etc in its overlay layers, top first: the
// stat of the directory, or, with no /etc (none in any layer, a whiteout,
// or an opaque layer root above it), a zero stat that stands for root's
// 0755. ok is false when /etc is not a directory: a layer cannot stand in
// for it then.
func imageEtc(lowers []string) (st unix.Stat_t, ok bool, err error) {
	for _, l := range lowers {
		err := unix.Lstat(filepath.Join(l, "etc"), &st)
		if err == nil {
			switch st.Mode & unix.S_IFMT {
			case unix.S_IFDIR:
				return st, true, nil
			case unix.S_IFCHR:
				if st.Rdev == 0 { // a whiteout: the image deleted /etc
					return unix.Stat_t{}, true, nil
				}
			}
			return st, false, nil
		}
		if !errors.Is(err, unix.ENOENT) {
			return st, false, fmt.Errorf("image layer %s: %w", l, err)
		}
		// An opaque root hides the layers below it.
		var v [1]byte
		if n, err := unix.Lgetxattr(l, "trusted.overlay.opaque", v[:]); err == nil && n == 1 && v[0] == 'y' {
			return unix.Stat_t{}, true, nil
		}
	}
	return unix.Stat_t{}, true, nil
}

// makeEtcLayer makes the layer at dir: etc/ with the image's mode and
// owner (root's 0755 for a zero st), the files names in it empty.
func makeEtcLayer(dir string, st unix.Stat_t, names []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	etc := filepath.Join(dir, "etc")
	mode := uint32(0o755)
	if st.Mode != 0 {
		mode = st.Mode & 0o7777
	}
	if err := os.Mkdir(etc, 0o700); err != nil {
		return err
	}
	for _, n := range names {
		f, err := os.OpenFile(filepath.Join(etc, n), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		f.Close()
	}
	if err := os.Chown(etc, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	// After the chown, which clears the set-id bits.
	return unix.Chmod(etc, mode)
}
