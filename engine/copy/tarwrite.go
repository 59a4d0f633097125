package copy

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"golang.org/x/sys/unix"

	"berth/internal/fsat"
)

// capXattr is the one extended attribute Docker puts in a cp stream: a
// file's capabilities.
const capXattr = "security.capability"

// paxXattr prefixes extended attributes in PAX records.
const paxXattr = "SCHILY.xattr."

// tarWriter writes a tree to a tar stream, walking it by descriptor only.
type tarWriter struct {
	ctx   context.Context
	tw    *tar.Writer
	links map[devIno]string // first name of each multiply linked inode
	buf   []byte
}

type devIno struct{ dev, ino uint64 }

func newTarWriter(ctx context.Context, w io.Writer) *tarWriter {
	return &tarWriter{ctx: ctx, tw: tar.NewWriter(w), links: map[devIno]string{}, buf: make([]byte, 128<<10)}
}

// close ends the archive.
func (w *tarWriter) close() error {
	if err := w.tw.Close(); err != nil {
		return fmt.Errorf("finish tar: %w", err)
	}
	return nil
}

// write writes the entry base of the directory dirfd (dirfd itself when
// base is "") under name, and everything below it when it is a directory.
// st is its lstat, taken through dirfd.
func (w *tarWriter) write(dirfd int, base string, st *unix.Stat_t, name string) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	h := &tar.Header{
		Name:    name,
		Mode:    int64(st.Mode & 0o7777),
		Uid:     int(st.Uid),
		Gid:     int(st.Gid),
		ModTime: time.Unix(st.Mtim.Sec, st.Mtim.Nsec),
		Format:  tar.FormatPAX,
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return w.dir(dirfd, base, h)
	case unix.S_IFREG:
		if st.Nlink > 1 {
			key := devIno{st.Dev, st.Ino}
			if first, ok := w.links[key]; ok {
				h.Typeflag, h.Linkname = tar.TypeLink, first
				return w.header(h)
			}
			w.links[key] = name
		}
		return w.file(dirfd, base, h)
	case unix.S_IFLNK:
		target, err := fsat.Readlinkat(dirfd, base)
		if err != nil {
			return fmt.Errorf("readlink %s: %w", name, err)
		}
		h.Typeflag, h.Linkname = tar.TypeSymlink, target
	case unix.S_IFCHR, unix.S_IFBLK:
		h.Typeflag = tar.TypeChar
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			h.Typeflag = tar.TypeBlock
		}
		h.Devmajor, h.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		h.Typeflag = tar.TypeFifo
	default:
		return nil // sockets have no tar form; Docker skips them too
	}
	return w.header(h)
}

func (w *tarWriter) header(h *tar.Header) error {
	if err := w.tw.WriteHeader(h); err != nil {
		return fmt.Errorf("write header of %s: %w", h.Name, err)
	}
	return nil
}

// dir writes a directory and its entries, sorted by name. The directory
// is opened O_NOFOLLOW through its parent's descriptor and its entries are
// reached only through that descriptor: if the directory is swapped for a
// symlink before the open, the open fails; if after, we keep reading the
// directory we opened, which is inside the root.
func (w *tarWriter) dir(dirfd int, base string, h *tar.Header) error {
	var fd int
	var err error
	if base == "" {
		fd, err = fsat.Openat(dirfd, ".", unix.O_RDONLY|unix.O_DIRECTORY)
	} else {
		fd, err = fsat.Openat(dirfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
	}
	if err != nil {
		return fmt.Errorf("open directory %s: %w", h.Name, changed(err))
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat %s: %w", h.Name, err)
	}
	// The header describes the directory we hold, whatever was stat'ed.
	h.Mode, h.Uid, h.Gid = int64(st.Mode&0o7777), int(st.Uid), int(st.Gid)
	h.ModTime = time.Unix(st.Mtim.Sec, st.Mtim.Nsec)
	h.Typeflag = tar.TypeDir
	h.Name += "/"
	if err := w.header(h); err != nil {
		return err
	}
	names, err := fsat.ReadNames(fd)
	if err != nil {
		return fmt.Errorf("list %s: %w", h.Name, err)
	}
	sort.Strings(names)
	for _, n := range names {
		var cst unix.Stat_t
		if err := unix.Fstatat(fd, n, &cst, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue // removed since listed
			}
			return fmt.Errorf("stat %s%s: %w", h.Name, n, err)
		}
		if err := w.write(fd, n, &cst, h.Name+n); err != nil {
			return err
		}
	}
	return nil
}

// file writes a regular file. It is opened O_PATH|O_NOFOLLOW, checked to be
// a regular file, then reopened for reading through /proc/self/fd (the same
// inode, no new lookup): a file swapped for a FIFO, a device node or a
// symlink is never opened for reading.
func (w *tarWriter) file(dirfd int, base string, h *tar.Header) error {
	var pfd int
	var err error
	if base == "" {
		pfd, err = unix.Dup(dirfd)
	} else {
		pfd, err = fsat.Openat(dirfd, base, unix.O_PATH|unix.O_NOFOLLOW)
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", h.Name, changed(err))
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		return fmt.Errorf("stat %s: %w", h.Name, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("open %s: %w", h.Name, errChanged)
	}
	fd, err := unix.Open(fsat.ProcFD(pfd), unix.O_RDONLY|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", h.Name, err)
	}
	f := os.NewFile(uintptr(fd), h.Name)
	defer f.Close()
	h.Typeflag, h.Size = tar.TypeReg, st.Size
	h.Mode, h.Uid, h.Gid = int64(st.Mode&0o7777), int(st.Uid), int(st.Gid)
	h.ModTime = time.Unix(st.Mtim.Sec, st.Mtim.Nsec)
	if v, err := getXattr(fd, capXattr); err != nil {
		return fmt.Errorf("read %s of %s: %w", capXattr, h.Name, err)
	} else if v != "" {
		h.PAXRecords = map[string]string{paxXattr + capXattr: v}
	}
	if err := w.header(h); err != nil {
		return err
	}
	n, err := io.CopyBuffer(w.tw, io.LimitReader(f, st.Size), w.buf)
	if err != nil {
		return fmt.Errorf("write %s: %w", h.Name, err)
	}
	if n < st.Size {
		// The file shrank while read: pad, so the archive stays well
		// formed (tar does the same).
		if _, err := io.CopyBuffer(w.tw, io.LimitReader(zeros{}, st.Size-n), w.buf); err != nil {
			return fmt.Errorf("write %s: %w", h.Name, err)
		}
	}
	return nil
}

// errChanged is an entry that changed type between its stat and its open.
var errChanged = errors.New("changed during the copy")

// changed maps the errors of an O_NOFOLLOW open that met a symlink (or a
// non-directory) where the walk had seen something else.
func changed(err error) error {
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		return fmt.Errorf("%w (%v)", errChanged, err)
	}
	return err
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// getXattr returns the attribute name of the open fd, "" when absent.
func getXattr(fd int, name string) (string, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Fgetxattr(fd, name, buf)
		switch {
		case errors.Is(err, unix.ENODATA), errors.Is(err, unix.ENOTSUP):
			return "", nil
		case errors.Is(err, unix.ERANGE) && len(buf) < 1<<20:
			buf = make([]byte, 2*len(buf)) // grew since; xattrs are at most 64 KiB
			continue
		case err != nil:
			return "", err
		}
		return string(buf[:n]), nil
	}
}
