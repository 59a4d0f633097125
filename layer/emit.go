package layer

import (
	"archive/tar"
	"fmt"
	"io"
	"time"

	"golang.org/x/sys/unix"
)

// DiffOptions tunes Diff and DiffDirs.
type DiffOptions struct {
	// ModTimeUpperBound, when not zero, clamps every mtime written to at
	// most this instant (SOURCE_DATE_EPOCH for reproducible builds).
	ModTimeUpperBound time.Time
}

// emitter writes tree entries as a reproducible tar: entries in walk
// order, headers built from the fields that describe content only (no
// atime, ctime, user or group names), mtimes truncated to the second as
// Docker does (so no PAX record is needed for them), PAX format for the
// rest (xattrs, long names, big ids), and hardlinks written as links to
// the first name of the inode met in this tar.
type emitter struct {
	tw      *tar.Writer
	opts    DiffOptions
	links   map[devIno]string
	written map[string]bool // directories already in the tar
	buf     []byte
}

type devIno struct{ dev, ino uint64 }

func newEmitter(w io.Writer, opts DiffOptions) *emitter {
	return &emitter{
		tw: tar.NewWriter(w), opts: opts,
		links: map[devIno]string{}, written: map[string]bool{},
		buf: make([]byte, 128<<10),
	}
}

// close ends the archive.
func (e *emitter) close() error {
	if err := e.tw.Close(); err != nil {
		return fmt.Errorf("finish tar: %w", err)
	}
	return nil
}

// mtime is the time written for st's modification time.
func (e *emitter) mtime(ts unix.Timespec) time.Time {
	t := time.Unix(ts.Sec, 0).UTC()
	if !e.opts.ModTimeUpperBound.IsZero() && t.After(e.opts.ModTimeUpperBound) {
		t = e.opts.ModTimeUpperBound.Truncate(time.Second).UTC()
	}
	return t
}

// entry writes n: its header and, for a regular file, its content. The
// node's overlayfs xattrs are left out. It returns the node's xattrs
// (all of them) for a caller that wants the overlay ones, and for a
// directory the descriptor it opened (or -1), owned by the caller.
func (e *emitter) entry(n *node) (xs []xattr, dirfd int, err error) {
	dirfd = -1
	h := &tar.Header{
		Name:    n.rel,
		Mode:    int64(n.st.Mode & 0o7777),
		Uid:     int(n.st.Uid),
		Gid:     int(n.st.Gid),
		ModTime: e.mtime(n.st.Mtim),
		Format:  tar.FormatPAX,
	}
	fd := -1
	switch n.kind() {
	case unix.S_IFDIR:
		if fd, err = n.open(); err != nil {
			return nil, -1, err
		}
		dirfd = fd
		h.Typeflag = tar.TypeDir
		h.Name += "/"
		e.written[n.rel] = true
	case unix.S_IFREG:
		if n.st.Nlink > 1 {
			key := devIno{uint64(n.st.Dev), n.st.Ino}
			if first, ok := e.links[key]; ok {
				h.Typeflag, h.Linkname = tar.TypeLink, first
				return nil, -1, e.write(h, n)
			}
			e.links[key] = n.rel
		}
		if fd, err = n.open(); err != nil {
			return nil, -1, err
		}
		defer unix.Close(fd)
		h.Typeflag, h.Size = tar.TypeReg, n.st.Size
	case unix.S_IFLNK:
		h.Typeflag = tar.TypeSymlink
		if h.Linkname, err = n.linkTarget(); err != nil {
			return nil, -1, err
		}
	case unix.S_IFCHR, unix.S_IFBLK:
		h.Typeflag = tar.TypeChar
		if n.kind() == unix.S_IFBLK {
			h.Typeflag = tar.TypeBlock
		}
		h.Devmajor, h.Devminor = int64(unix.Major(n.st.Rdev)), int64(unix.Minor(n.st.Rdev))
	case unix.S_IFIFO:
		h.Typeflag = tar.TypeFifo
	default:
		return nil, -1, nil // sockets have no tar form; Docker skips them too
	}
	closeDir := func() {
		if dirfd >= 0 {
			unix.Close(dirfd)
		}
	}
	if xs, err = n.xattrs(fd); err != nil {
		closeDir()
		return nil, -1, err
	}
	for _, x := range xs {
		if overlayXattr(x.name) {
			continue
		}
		if h.PAXRecords == nil {
			h.PAXRecords = map[string]string{}
		}
		h.PAXRecords[paxXattr+x.name] = x.value
	}
	if err := e.write(h, n); err != nil {
		closeDir()
		return nil, -1, err
	}
	if h.Typeflag == tar.TypeReg {
		_, err := io.CopyBuffer(e.tw, io.LimitReader(fdReader(fd), h.Size), e.buf)
		if err == nil && e.tw.Flush() != nil {
			// Flush fails when the file shrank below its header's size.
			err = fmt.Errorf("file changed size while read")
		}
		if err != nil {
			return nil, -1, fmt.Errorf("write %s: %w", n.rel, err)
		}
	}
	return xs, dirfd, nil
}

// write writes one header.
func (e *emitter) write(h *tar.Header, n *node) error {
	if err := e.tw.WriteHeader(h); err != nil {
		return fmt.Errorf("write header of %s: %w", n.rel, err)
	}
	return nil
}

// whiteout writes ".wh.name" for the deleted entry rel.
func (e *emitter) whiteout(rel string, mtime unix.Timespec) error {
	dir, base := splitName(rel)
	return e.marker(join(dir, WhiteoutPrefix+base), mtime)
}

// opaque writes ".wh..wh..opq" in the directory rel.
func (e *emitter) opaque(rel string, mtime unix.Timespec) error {
	return e.marker(join(rel, WhiteoutOpaqueDir), mtime)
}

// marker writes an empty regular file entry: the OCI form of whiteouts.
func (e *emitter) marker(name string, mtime unix.Timespec) error {
	h := &tar.Header{Name: name, Typeflag: tar.TypeReg, ModTime: e.mtime(mtime), Format: tar.FormatPAX}
	if err := e.tw.WriteHeader(h); err != nil {
		return fmt.Errorf("write whiteout %s: %w", name, err)
	}
	return nil
}
