package copy

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"berth/internal/fsat"
)

// extractOptions tune an extraction.
type extractOptions struct {
	// noOverwriteDirNonDir refuses to replace a directory by a
	// non-directory and the reverse (Docker's NoOverwriteDirNonDir).
	noOverwriteDirNonDir bool
	// owner, when set, owns every entry instead of the header's ids.
	owner *[2]int
	// host is the host end of a copy out of a container: entries stay
	// owned by the caller, set-id bits and xattrs are dropped, device
	// nodes are skipped.
	host bool
	// from and to rename the top entry (Docker's RebaseArchiveEntries).
	from, to string
	// onlyFrom refuses entries that are not from or below it, when
	// renaming: a stream extracted into the parent of the destination
	// must not write beside it.
	onlyFrom bool
	log      *slog.Logger
}

// extractor applies one tar stream below prefix, a directory inside the
// root r.
type extractor struct {
	r        *root
	prefix   string
	opts     extractOptions
	dirTimes []dirTime
	buf      []byte
	// The parent directory of the previous entry stays open for the next
	// one in the same directory, until something is removed (which may
	// change what a path resolves to).
	cacheRel string
	cacheFd  int
}

type dirTime struct {
	rel string
	ts  []unix.Timespec
}

// extract reads a tar stream from r and creates its entries below prefix
// (a directory, relative to the root rt). Every entry's parent is resolved
// inside the root; see the package documentation.
func extract(ctx context.Context, rt *root, prefix string, r io.Reader, opts extractOptions) error {
	if opts.log == nil {
		opts.log = slog.Default()
	}
	e := &extractor{r: rt, prefix: prefix, opts: opts, buf: make([]byte, 128<<10), cacheFd: -1}
	defer e.dropParent()
	tr := tar.NewReader(ctxReader{ctx: ctx, r: r})
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		if err := e.entry(hdr, tr); err != nil {
			return fmt.Errorf("extract %q: %w", hdr.Name, err)
		}
	}
	return e.finish()
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// name cleans and renames an entry or hardlink name.
func (e *extractor) name(n string) (string, error) {
	rel, err := cleanName(n)
	if err != nil {
		return "", err
	}
	f := e.opts.from
	if e.opts.onlyFrom && f != "" && f != "." && rel != f && !strings.HasPrefix(rel, f+"/") {
		return "", fmt.Errorf("entry is not part of the copied path %q", f)
	}
	return rebase(rel, e.opts.from, e.opts.to), nil
}

// entry extracts one tar entry.
func (e *extractor) entry(hdr *tar.Header, tr io.Reader) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	rel, err := e.name(hdr.Name)
	if err != nil {
		return err
	}
	if rel == "." {
		// The destination directory itself: it exists, and its own mode
		// and owner stand (Docker skips this entry too).
		return nil
	}
	if sparse(hdr) {
		// A few header bytes can declare exabytes of holes.
		return errors.New("sparse files are not supported")
	}
	switch hdr.Typeflag {
	case tar.TypeDir, tar.TypeReg, tar.TypeRegA, tar.TypeSymlink, tar.TypeLink, tar.TypeFifo:
	case tar.TypeChar, tar.TypeBlock:
		if e.opts.host {
			e.opts.log.Warn("device node from a container not copied to the host", "name", hdr.Name)
			return nil
		}
	default:
		return fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
	}
	if hdr.Uid < 0 || hdr.Gid < 0 || hdr.Uid > 1<<32-2 || hdr.Gid > 1<<32-2 {
		return fmt.Errorf("invalid owner %d:%d", hdr.Uid, hdr.Gid)
	}
	dirRel, base := splitName(rel)
	pfd, err := e.parent(dirRel)
	if err != nil {
		return fmt.Errorf("parent directory %q: %w", dirRel, err)
	}
	isDir := hdr.Typeflag == tar.TypeDir
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
		exDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
		if e.opts.noOverwriteDirNonDir && exDir && !isDir {
			return fmt.Errorf("cannot overwrite directory %q with non-directory", path.Join(e.prefix, rel))
		}
		if e.opts.noOverwriteDirNonDir && !exDir && isDir {
			return fmt.Errorf("cannot overwrite non-directory %q with directory", path.Join(e.prefix, rel))
		}
		if !(exDir && isDir) {
			e.dropParentLater()
			if err := fsat.RemoveAt(pfd, base); err != nil {
				return fmt.Errorf("replace existing entry: %w", err)
			}
		}
	} else if !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("stat existing entry: %w", err)
	}

	switch hdr.Typeflag {
	case tar.TypeDir:
		return e.mkdir(pfd, base, rel, hdr)
	case tar.TypeReg, tar.TypeRegA:
		return e.file(pfd, base, hdr, tr)
	case tar.TypeSymlink:
		return e.symlink(pfd, base, hdr)
	case tar.TypeLink:
		return e.hardlink(pfd, base, rel, hdr)
	default:
		return e.mknod(pfd, base, hdr)
	}
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

// parent returns a handle on the directory dirRel below the prefix,
// creating missing directories (0755) on the way, as Docker's untar does.
// The handle belongs to the extractor.
func (e *extractor) parent(dirRel string) (int, error) {
	if e.cacheFd >= 0 && e.cacheRel == dirRel {
		return e.cacheFd, nil
	}
	e.dropParent()
	fd, err := e.mkdirAll(dirRel)
	if err != nil {
		return -1, err
	}
	e.cacheRel, e.cacheFd = dirRel, fd
	return fd, nil
}

// dropParentLater forgets the cached parent once the entry is done (it is
// still in use by the caller) so the next entry resolves its parent again.
func (e *extractor) dropParentLater() { e.cacheRel = "\x00stale" }

func (e *extractor) dropParent() {
	if e.cacheFd >= 0 {
		unix.Close(e.cacheFd)
		e.cacheFd = -1
	}
}

// mkdirAll opens dirRel below the prefix, resolved in the root; missing
// components are created with mkdirat in the handle of their parent, each
// step resolved again from the root so a symlink met stays inside it.
func (e *extractor) mkdirAll(dirRel string) (int, error) {
	full := path.Join(e.prefix, dirRel)
	fd, err := e.r.open(full, unix.O_PATH|unix.O_DIRECTORY)
	if err == nil || !errors.Is(err, unix.ENOENT) || dirRel == "." {
		return fd, err
	}
	cur, err := e.r.open(e.prefix, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return -1, err
	}
	parts := strings.Split(dirRel, "/")
	for i, name := range parts {
		sub := path.Join(e.prefix, strings.Join(parts[:i+1], "/"))
		next, err := e.r.open(sub, unix.O_PATH|unix.O_DIRECTORY)
		if errors.Is(err, unix.ENOENT) {
			if err := unix.Mkdirat(cur, name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
				unix.Close(cur)
				return -1, fmt.Errorf("mkdir %s: %w", sub, err)
			}
			next, err = fsat.Openat(cur, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW)
		}
		unix.Close(cur)
		if err != nil {
			return -1, fmt.Errorf("open %s: %w", sub, err)
		}
		cur = next
	}
	return cur, nil
}

// mkdir makes, or merges into, a directory; its times are set at the end.
func (e *extractor) mkdir(pfd int, base, rel string, hdr *tar.Header) error {
	if err := unix.Mkdirat(pfd, base, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("mkdir: %w", err)
	}
	fd, err := fsat.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
	if err != nil {
		return fmt.Errorf("open directory: %w", err)
	}
	defer unix.Close(fd)
	if err := e.attrs(pfd, base, fd, hdr); err != nil {
		return err
	}
	e.dirTimes = append(e.dirTimes, dirTime{rel: rel, ts: times(hdr)})
	return nil
}

// file writes a regular file: O_CREAT|O_EXCL|O_NOFOLLOW, never through a
// link.
func (e *extractor) file(pfd int, base string, hdr *tar.Header, tr io.Reader) error {
	fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create file: %w", err)
	}
	f := os.NewFile(uintptr(fd), base)
	defer f.Close()
	if _, err := io.CopyBuffer(fileWriter{f}, tr, e.buf); err != nil {
		return fmt.Errorf("write file: %w", err)
	}
	if err := e.attrs(pfd, base, fd, hdr); err != nil {
		return err
	}
	if err := unix.UtimesNanoAt(fd, "", times(hdr), unix.AT_EMPTY_PATH); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

// fileWriter hides *os.File's ReadFrom, whose copy_file_range and splice
// attempts only cost time on a tar reader.
type fileWriter struct{ f *os.File }

func (w fileWriter) Write(p []byte) (int, error) { return w.f.Write(p) }

// symlink makes a symbolic link. Its target is stored as is: it is only
// ever resolved inside a root.
func (e *extractor) symlink(pfd int, base string, hdr *tar.Header) error {
	if hdr.Linkname == "" || strings.IndexByte(hdr.Linkname, 0) >= 0 {
		return fmt.Errorf("invalid symlink target %q", hdr.Linkname)
	}
	if err := unix.Symlinkat(hdr.Linkname, pfd, base); err != nil {
		return fmt.Errorf("symlink: %w", err)
	}
	if err := e.attrs(pfd, base, -1, hdr); err != nil {
		return err
	}
	return setTimesAt(pfd, base, hdr)
}

// hardlink links base to the entry the header names, which must be below
// the destination (after renaming, as Docker rebases link names too) and
// not a directory. The link shares the target's inode and metadata.
func (e *extractor) hardlink(pfd int, base, rel string, hdr *tar.Header) error {
	target, err := e.name(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("hardlink target %q: %w", hdr.Linkname, err)
	}
	if target == "." || target == rel {
		return fmt.Errorf("invalid hardlink target %q", hdr.Linkname)
	}
	// O_NOFOLLOW: a link to a symlink links the symlink itself, as tar
	// does; symlinks in the target's directories resolve inside the root.
	tfd, err := e.r.open(path.Join(e.prefix, target), unix.O_PATH|unix.O_NOFOLLOW)
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
	err = unix.Linkat(tfd, "", pfd, base, unix.AT_EMPTY_PATH)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EPERM) {
		// AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the /proc link of our
		// own descriptor names the same inode without it.
		err = unix.Linkat(unix.AT_FDCWD, fsat.ProcFD(tfd), pfd, base, unix.AT_SYMLINK_FOLLOW)
	}
	if err != nil {
		return fmt.Errorf("hardlink to %q: %w", hdr.Linkname, err)
	}
	return nil
}

// mknod makes a FIFO or a device node.
func (e *extractor) mknod(pfd int, base string, hdr *tar.Header) error {
	mode := uint32(unix.S_IFIFO)
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode = unix.S_IFCHR
	case tar.TypeBlock:
		mode = unix.S_IFBLK
	}
	if hdr.Devmajor < 0 || hdr.Devminor < 0 || hdr.Devmajor > 1<<32-1 || hdr.Devminor > 1<<32-1 {
		return fmt.Errorf("invalid device number %d:%d", hdr.Devmajor, hdr.Devminor)
	}
	dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	if err := unix.Mknodat(pfd, base, mode|0o600, int(dev)); err != nil {
		return fmt.Errorf("mknod: %w", err)
	}
	if err := e.attrs(pfd, base, -1, hdr); err != nil {
		return err
	}
	return setTimesAt(pfd, base, hdr)
}

// attrs sets owner, then mode (chown clears set-id bits), then extended
// attributes. fd is the open entry, or -1 to work on base in pfd without
// following it.
func (e *extractor) attrs(pfd int, base string, fd int, hdr *tar.Header) error {
	if !e.opts.host {
		uid, gid := hdr.Uid, hdr.Gid
		if e.opts.owner != nil {
			uid, gid = e.opts.owner[0], e.opts.owner[1]
		}
		var err error
		if fd >= 0 {
			err = unix.Fchown(fd, uid, gid)
		} else {
			err = unix.Fchownat(pfd, base, uid, gid, unix.AT_SYMLINK_NOFOLLOW)
		}
		if err != nil {
			return fmt.Errorf("chown %d:%d: %w", uid, gid, err)
		}
	}
	if hdr.Typeflag != tar.TypeSymlink {
		mode := uint32(hdr.Mode) & 0o7777
		if e.opts.host {
			// A set-id program from a container must not become one of
			// the host's.
			mode &^= unix.S_ISUID | unix.S_ISGID
		}
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
	if e.opts.host {
		return nil // no file capabilities or other xattrs onto the host
	}
	return e.xattrs(pfd, base, fd, hdr)
}

// xattrs sets the header's extended attributes, except overlayfs' own.
func (e *extractor) xattrs(pfd int, base string, fd int, hdr *tar.Header) error {
	var names []string
	for k := range hdr.PAXRecords {
		n, ok := strings.CutPrefix(k, paxXattr)
		if !ok || n == "" || strings.HasPrefix(n, "trusted.overlay.") || strings.HasPrefix(n, "user.overlay.") {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := []byte(hdr.PAXRecords[paxXattr+n])
		var err error
		if fd >= 0 {
			err = unix.Fsetxattr(fd, n, v, 0)
		} else {
			err = unix.Lsetxattr(fsat.ProcPath(pfd, base), n, v, 0)
		}
		switch {
		case err == nil:
		case errors.Is(err, unix.ENOTSUP), fd < 0 && errors.Is(err, unix.EPERM) && strings.HasPrefix(n, "user."):
			e.opts.log.Debug("xattr skipped", "name", hdr.Name, "xattr", n, "err", err)
		default:
			return fmt.Errorf("set xattr %s: %w", n, err)
		}
	}
	return nil
}

// chmodNoFollow changes the mode of base in pfd without following it:
// fchmodat2 with AT_SYMLINK_NOFOLLOW (Linux 6.6), else through an O_PATH
// handle on it.
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

// setTimesAt sets the times of base in pfd without following a symlink.
func setTimesAt(pfd int, base string, hdr *tar.Header) error {
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

// finish sets directory times now that their contents are written,
// resolving each again inside the root. A directory removed or replaced
// since is skipped.
func (e *extractor) finish() error {
	e.dropParent()
	for i := len(e.dirTimes) - 1; i >= 0; i-- {
		d := e.dirTimes[i]
		dirRel, base := splitName(d.rel)
		pfd, err := e.r.open(path.Join(e.prefix, dirRel), unix.O_PATH|unix.O_DIRECTORY)
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
		} else if errors.Is(err, unix.ENOENT) || err == nil {
			err = nil
		}
		unix.Close(pfd)
		if err != nil {
			return fmt.Errorf("set times of %s: %w", d.rel, err)
		}
	}
	return nil
}
