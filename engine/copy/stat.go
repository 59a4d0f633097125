package copy

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// Stat describes a container path as Docker's X-Docker-Container-Path-Stat
// header does (the JSON field names are Docker's).
type Stat struct {
	// Name is the last element of the path as requested: "dir" for
	// "/a/dir/", "." for "/a/dir/.", "/" for the root.
	Name string `json:"name"`
	// Size is the size in bytes (lstat's: a symlink's is its target's
	// length).
	Size int64 `json:"size"`
	// Mode is the type and permission bits, Go style.
	Mode fs.FileMode `json:"mode"`
	// Mtime is the modification time.
	Mtime time.Time `json:"mtime"`
	// LinkTarget is, for a symlink, where it leads, fully resolved inside
	// the container's root as an absolute container path; empty otherwise.
	LinkTarget string `json:"linkTarget"`
}

// Header encodes s as the value of Docker's X-Docker-Container-Path-Stat
// header: base64 of its JSON.
func (s Stat) Header() (string, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("encode path stat: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// Source is what a copy's tar stream holds, as the receiving end needs to
// know it to apply Docker's naming rules.
type Source struct {
	// Base is the name of the stream's top entry: a file or directory
	// name, or "." when the stream holds a directory's contents.
	Base string
	// IsDir says the top entry is a directory.
	IsDir bool
}

// Source is the description of the stream FromContainer wrote with s.
func (s Stat) Source() Source {
	b := s.Name
	if b == "/" {
		b = "."
	}
	return Source{Base: b, IsDir: s.Mode.IsDir()}
}

// StatPath stats p inside the container root filesystem rootfs as Docker's
// HEAD /containers/{id}/archive does: the final element is not followed
// unless p ends in "/" or "/.". A missing path is ErrNotFound.
func StatPath(ctx context.Context, rootfs, p string) (Stat, error) {
	if err := ctx.Err(); err != nil {
		return Stat{}, err
	}
	r, err := openRoot(rootfs)
	if err != nil {
		return Stat{}, err
	}
	defer r.close()
	t, err := r.resolve(p, false)
	if err != nil {
		return Stat{}, err
	}
	defer t.close()
	return r.stat(t)
}

// target is a resolved copy source: the entry base in the directory
// dirfd, or dirfd itself when base is "".
type target struct {
	dirfd int
	base  string
	st    unix.Stat_t
	abs   string // clean container path as requested
	name  string // entry name in the tar: entryBase of the request
	dot   bool
}

func (t *target) close() { unix.Close(t.dirfd) }

// resolve finds p inside the root. Every component is resolved by openat2
// RESOLVE_IN_ROOT. The final element is lstat'ed in its resolved parent
// unless p ends in "/" or "/." or follow is set, in which case p is opened
// as a whole, following a final symlink inside the root too.
func (r *root) resolve(p string, follow bool) (*target, error) {
	clean, dot, slash := ctrPath(p)
	t := &target{abs: clean, name: entryBase(clean, dot), dot: dot, dirfd: -1}
	if dot || slash || follow || clean == "/" {
		flags := unix.O_PATH
		if dot || slash {
			flags |= unix.O_DIRECTORY
		}
		fd, err := r.open(clean, flags)
		if err != nil {
			return nil, pathErr(clean, err)
		}
		t.dirfd = fd
		if err := unix.Fstat(fd, &t.st); err != nil {
			t.close()
			return nil, fmt.Errorf("stat %s: %w", clean, err)
		}
		return t, nil
	}
	dir, base := path.Split(clean)
	fd, err := r.open(dir, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return nil, pathErr(clean, err)
	}
	t.dirfd, t.base = fd, base
	if err := unix.Fstatat(fd, base, &t.st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		t.close()
		return nil, pathErr(clean, err)
	}
	return t, nil
}

// pathErr names p in a lookup error and maps it to this package's errors.
func pathErr(p string, err error) error {
	switch {
	case errors.Is(err, unix.ENOENT):
		return fmt.Errorf("%s: %w", p, ErrNotFound)
	case errors.Is(err, unix.ENOTDIR):
		return fmt.Errorf("%s: %w", p, ErrNotDirectory)
	}
	return fmt.Errorf("%s: %w", p, err)
}

// stat builds the Stat of a resolved target.
func (r *root) stat(t *target) (Stat, error) {
	name := t.name
	if t.abs == "/" && !t.dot {
		name = "/"
	}
	s := Stat{
		Name:  name,
		Size:  t.st.Size,
		Mode:  fileMode(t.st.Mode),
		Mtime: time.Unix(t.st.Mtim.Sec, t.st.Mtim.Nsec),
	}
	if s.Mode&fs.ModeSymlink != 0 {
		lt, err := r.linkTarget(t.abs)
		if err != nil {
			return Stat{}, err
		}
		s.LinkTarget = lt
	}
	return s, nil
}

// linkTarget resolves the symlink abs fully inside the root and returns
// where it leads as a container path. A dangling link is resolved as far
// as it goes, by name (securejoin), as Docker's FollowSymlinkInScope does;
// the result is only reported, never used to open anything.
func (r *root) linkTarget(abs string) (string, error) {
	fd, err := r.open(abs, unix.O_PATH)
	if err == nil {
		defer unix.Close(fd)
		return r.inRoot(fd)
	}
	if !errors.Is(err, unix.ENOENT) {
		return "", pathErr(abs, err)
	}
	full, err := securejoin.SecureJoin(r.real, abs)
	if err != nil {
		return "", fmt.Errorf("resolve symlink %s: %w", abs, err)
	}
	rel := strings.TrimPrefix(full, r.real)
	return path.Clean("/" + rel), nil
}

// fileMode converts a stat mode to Go's fs.FileMode.
func fileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	}
	if m&unix.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}
