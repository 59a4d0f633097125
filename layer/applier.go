package layer

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"berth/internal/fsat"
)

// applier holds the state of one Apply: the root, what this layer has
// added so far (whiteouts never remove those), and the directory times
// to set once their contents are in place.
type applier struct {
	root  *root
	opts  ApplyOptions
	log   *slog.Logger
	added map[string]struct{} // entries of this layer
	// parents are the ancestors of added entries: an opaque directory in
	// merge mode keeps them (and looks inside them for lower leftovers).
	parents  map[string]struct{}
	dirTimes []dirTime
	buf      []byte
	// The parent directory of the previous entry stays open for the next
	// one in the same directory (most entries of a tar are), until an
	// entry removes something: a removal may change what a path resolves
	// to, so then every parent is resolved again from the root.
	cacheRel string
	cacheFd  int
	stale    bool
}

// dirTime is a directory mtime set at the end, since adding entries to
// the directory changes it.
type dirTime struct {
	rel string
	ts  []unix.Timespec
}

func newApplier(rt *root, opts ApplyOptions) *applier {
	return &applier{
		root: rt, opts: opts, log: opts.Logger,
		added:   map[string]struct{}{},
		parents: map[string]struct{}{},
		buf:     make([]byte, 128<<10),
		cacheFd: -1,
	}
}

// parent returns a handle on the directory dirRel, created if missing.
// The handle belongs to the applier.
func (a *applier) parent(dirRel string) (int, error) {
	if a.stale {
		a.dropParent()
		a.stale = false
	}
	if a.cacheFd >= 0 && a.cacheRel == dirRel {
		return a.cacheFd, nil
	}
	a.dropParent()
	fd, err := a.root.mkdirAll(dirRel)
	if err != nil {
		return -1, err
	}
	a.cacheRel, a.cacheFd = dirRel, fd
	return fd, nil
}

// dropParent closes the cached parent handle.
func (a *applier) dropParent() {
	if a.cacheFd >= 0 {
		unix.Close(a.cacheFd)
		a.cacheFd = -1
	}
}

// entry applies one tar entry.
func (a *applier) entry(hdr *tar.Header, tr io.Reader) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil // PAX global header: nothing to make, whatever its name
	}
	rel, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if rel == "." {
		// The layer root is the snapshot itself, whose mode and owner
		// belong to the snapshotter (containerd ignores it too).
		a.log.Debug("layer root entry ignored", "name", hdr.Name)
		return nil
	}
	dirRel, base := splitName(rel)
	if strings.HasPrefix(base, WhiteoutPrefix) {
		return a.whiteout(dirRel, base, hdr)
	}
	if sparse(hdr) {
		// A few header bytes can declare exabytes of holes, which
		// archive/tar would hand us as zeros to write; no OCI tool
		// writes sparse entries.
		return fmt.Errorf("sparse files are not supported")
	}
	switch hdr.Typeflag {
	case tar.TypeDir, tar.TypeReg, tar.TypeRegA, tar.TypeSymlink, tar.TypeLink, tar.TypeFifo:
	case tar.TypeChar, tar.TypeBlock:
		switch a.opts.Devices {
		case DevicesSkip:
			a.log.Debug("device node skipped", "name", hdr.Name)
			return nil
		case DevicesRefuse:
			return ErrDeviceRefused
		}
	default:
		return fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
	}
	if hdr.Uid < 0 || hdr.Gid < 0 || hdr.Uid > 1<<32-2 || hdr.Gid > 1<<32-2 {
		return fmt.Errorf("invalid owner %d:%d", hdr.Uid, hdr.Gid)
	}

	pfd, err := a.parent(dirRel)
	if err != nil {
		return fmt.Errorf("parent directory %q: %w", dirRel, err)
	}

	switch hdr.Typeflag {
	case tar.TypeDir:
		err = a.mkdir(pfd, base, rel, hdr)
	case tar.TypeReg, tar.TypeRegA:
		err = a.file(pfd, base, hdr, tr)
	case tar.TypeSymlink:
		err = a.symlink(pfd, base, hdr)
	case tar.TypeLink:
		err = a.hardlink(pfd, base, rel, hdr)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		err = a.mknod(pfd, base, hdr)
	}
	if err != nil {
		return err
	}
	a.markAdded(rel)
	return nil
}

// sparse reports a GNU sparse entry, old style or PAX.
func sparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// create runs mk, which creates base in pfd; if something is already
// there it is removed (a directory with all below it) and mk runs
// again. Trying first saves a stat for the common case of a new name.
func (a *applier) create(pfd int, base string, mk func() error) error {
	err := mk()
	if !errors.Is(err, unix.EEXIST) {
		return err
	}
	a.stale = true
	if err := fsat.RemoveAt(pfd, base); err != nil {
		return fmt.Errorf("replace existing entry: %w", err)
	}
	return mk()
}

// markAdded records rel as part of this layer, and its ancestors as
// holding part of it.
func (a *applier) markAdded(rel string) {
	a.added[rel] = struct{}{}
	for d, _ := splitName(rel); d != "."; d, _ = splitName(d) {
		if _, ok := a.parents[d]; ok {
			break
		}
		a.parents[d] = struct{}{}
	}
}

// mkdir makes (or merges into) a directory; its times are set at the end.
func (a *applier) mkdir(pfd int, base, rel string, hdr *tar.Header) error {
	err := unix.Mkdirat(pfd, base, 0o700)
	if errors.Is(err, unix.EEXIST) {
		// A directory entry merges into an existing directory and
		// replaces anything else.
		var st unix.Stat_t
		if err = unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			err = a.create(pfd, base, func() error { return unix.Mkdirat(pfd, base, 0o700) })
		}
	}
	if err != nil {
		return fmt.Errorf("mkdir: %w", err)
	}
	fd, err := fsat.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
	if err != nil {
		return fmt.Errorf("open directory: %w", err)
	}
	defer unix.Close(fd)
	if err := a.attrs(pfd, base, fd, hdr); err != nil {
		return err
	}
	a.dirTimes = append(a.dirTimes, dirTime{rel: rel, ts: times(hdr)})
	return nil
}

// file writes a regular file. O_EXCL|O_NOFOLLOW: never through a link.
func (a *applier) file(pfd int, base string, hdr *tar.Header, tr io.Reader) error {
	fd := -1
	err := a.create(pfd, base, func() (err error) {
		fd, err = unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		return err
	})
	if err != nil {
		return fmt.Errorf("create file: %w", err)
	}
	f := os.NewFile(uintptr(fd), base)
	defer f.Close()
	if _, err := io.CopyBuffer(fileWriter{f}, tr, a.buf); err != nil {
		return fmt.Errorf("write file: %w", err)
	}
	if err := a.attrs(pfd, base, fd, hdr); err != nil {
		return err
	}
	return a.setTimes(pfd, base, hdr)
}

// fileWriter hides *os.File's ReadFrom, whose copy_file_range and splice
// attempts only cost time on a tar reader.
type fileWriter struct{ f *os.File }

func (w fileWriter) Write(p []byte) (int, error) { return w.f.Write(p) }

// symlink makes a symbolic link. Its target is stored as is: it is only
// ever resolved later, inside the container's root.
func (a *applier) symlink(pfd int, base string, hdr *tar.Header) error {
	if hdr.Linkname == "" || strings.IndexByte(hdr.Linkname, 0) >= 0 {
		return fmt.Errorf("invalid symlink target %q", hdr.Linkname)
	}
	if err := a.create(pfd, base, func() error { return unix.Symlinkat(hdr.Linkname, pfd, base) }); err != nil {
		return fmt.Errorf("symlink: %w", err)
	}
	if err := a.attrs(pfd, base, -1, hdr); err != nil {
		return err
	}
	return a.setTimes(pfd, base, hdr)
}

// hardlink links base to the entry the header names, which must be inside
// the root and not a directory. The link shares the target's inode and so
// its metadata; the header's own is not applied.
func (a *applier) hardlink(pfd int, base, rel string, hdr *tar.Header) error {
	target, err := cleanName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("hardlink target %q: %w", hdr.Linkname, err)
	}
	if target == "." || target == rel {
		return fmt.Errorf("invalid hardlink target %q", hdr.Linkname)
	}
	// O_PATH|O_NOFOLLOW: a link to a symlink links the symlink itself, as
	// tar does; symlinks in the target's directories resolve in the root.
	tfd, err := a.root.open(target, unix.O_PATH|unix.O_NOFOLLOW)
	if err != nil {
		return fmt.Errorf("hardlink target %q: %w", hdr.Linkname, err)
	}
	defer unix.Close(tfd)
	var st unix.Stat_t
	if err := unix.Fstat(tfd, &st); err != nil {
		return fmt.Errorf("hardlink target %q: %w", hdr.Linkname, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return fmt.Errorf("hardlink target %q is a directory", hdr.Linkname)
	}
	err = a.create(pfd, base, func() error {
		err := unix.Linkat(tfd, "", pfd, base, unix.AT_EMPTY_PATH)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EPERM) {
			// AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the /proc link of
			// our own descriptor names the same inode without it.
			err = unix.Linkat(unix.AT_FDCWD, fsat.ProcFD(tfd), pfd, base, unix.AT_SYMLINK_FOLLOW)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("hardlink to %q: %w", hdr.Linkname, err)
	}
	return nil
}

// mknod makes a device node or FIFO.
func (a *applier) mknod(pfd int, base string, hdr *tar.Header) error {
	mode := uint32(0)
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode = unix.S_IFCHR
	case tar.TypeBlock:
		mode = unix.S_IFBLK
	case tar.TypeFifo:
		mode = unix.S_IFIFO
	}
	if hdr.Devmajor < 0 || hdr.Devminor < 0 || hdr.Devmajor > 1<<32-1 || hdr.Devminor > 1<<32-1 {
		return fmt.Errorf("invalid device number %d:%d", hdr.Devmajor, hdr.Devminor)
	}
	dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	if err := a.create(pfd, base, func() error { return unix.Mknodat(pfd, base, mode|0o600, int(dev)) }); err != nil {
		return fmt.Errorf("mknod: %w", err)
	}
	if err := a.attrs(pfd, base, -1, hdr); err != nil {
		return err
	}
	return a.setTimes(pfd, base, hdr)
}

// attrs sets owner, then mode (chown clears set-id bits, so the mode comes
// after), then extended attributes. fd is the open entry or -1 to work on
// base in pfd without following it.
func (a *applier) attrs(pfd int, base string, fd int, hdr *tar.Header) error {
	if !a.opts.NoSameOwner {
		var err error
		if fd >= 0 {
			err = unix.Fchown(fd, hdr.Uid, hdr.Gid)
		} else {
			err = unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW)
		}
		if err != nil {
			return fmt.Errorf("chown %d:%d: %w", hdr.Uid, hdr.Gid, err)
		}
	}
	if hdr.Typeflag != tar.TypeSymlink {
		mode := uint32(hdr.Mode) & 0o7777
		var err error
		if fd >= 0 {
			err = unix.Fchmod(fd, mode)
		} else {
			err = chmodNoFollow(pfd, base, mode)
		}
		if err != nil {
			return fmt.Errorf("chmod %o: %w", mode, err)
		}
	}
	xs := headerXattrs(hdr.PAXRecords)
	if len(xs) == 0 {
		return nil
	}
	return setXattrs(pfd, base, fd, xs, func(name string, err error) {
		a.log.Debug("xattr skipped", "name", hdr.Name, "xattr", name, "err", err)
	})
}

// chmodNoFollow changes the mode of base in pfd, which is not a symlink,
// without following one should it be: fchmodat2 with AT_SYMLINK_NOFOLLOW
// where the kernel has it (6.6), else through an O_PATH handle.
func chmodNoFollow(pfd int, base string, mode uint32) error {
	err := unix.Fchmodat(pfd, base, mode, unix.AT_SYMLINK_NOFOLLOW)
	if !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.ENOSYS) {
		return err
	}
	fd, err := fsat.Openat(pfd, base, unix.O_PATH|unix.O_NOFOLLOW)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return nil
	}
	return unix.Chmod(fsat.ProcFD(fd), mode)
}

// setTimes sets the access and modification times of base in pfd
// without following a symlink.
func (a *applier) setTimes(pfd int, base string, hdr *tar.Header) error {
	if err := unix.UtimesNanoAt(pfd, base, times(hdr), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

// times are the header's atime (its mtime when absent) and mtime.
func times(hdr *tar.Header) []unix.Timespec {
	at := hdr.AccessTime
	if at.IsZero() {
		at = hdr.ModTime
	}
	return []unix.Timespec{timespec(at), timespec(hdr.ModTime)}
}

// timespec converts without UnixNano, which overflows past year 2262.
func timespec(t time.Time) unix.Timespec {
	return unix.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

// finish sets directory times, now that their contents are written. A
// directory removed or replaced later in the layer is skipped.
func (a *applier) finish() error {
	a.dropParent()
	for _, d := range a.dirTimes {
		dirRel, base := splitName(d.rel)
		pfd, err := a.root.openDir(dirRel, false)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("set times of %s: %w", d.rel, err)
		}
		var st unix.Stat_t
		err = unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			err = unix.UtimesNanoAt(pfd, base, d.ts, unix.AT_SYMLINK_NOFOLLOW)
		} else if errors.Is(err, unix.ENOENT) {
			err = nil
		}
		unix.Close(pfd)
		if err != nil {
			return fmt.Errorf("set times of %s: %w", d.rel, err)
		}
	}
	return nil
}
