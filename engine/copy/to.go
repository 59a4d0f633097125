package copy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"

	"golang.org/x/sys/unix"
)

// ToOptions tunes ToContainer.
type ToOptions struct {
	// NoOverwriteDirNonDir refuses to replace an existing directory by a
	// non-directory or the reverse (the docker cp CLI always sets it).
	NoOverwriteDirNonDir bool
	// CopyUIDGID is docker cp -a: every entry is owned by UID:GID, the
	// container's configured user, which the caller resolves in the
	// container's /etc/passwd. Without it entries keep the uid and gid of
	// the tar headers (Docker's daemon does the same; for a container
	// without a configured user Docker's -a keeps them too, so leave
	// CopyUIDGID unset then).
	CopyUIDGID bool
	UID, GID   int
	// Source describes the stream (TarHost's or Stat.Source's result) so
	// that Docker's naming rules apply: an existing directory receives
	// it as is, an existing file is replaced by a single-file source, a
	// missing destination is created under its name. Nil is a raw stream
	// (`berth cp - c:/dir`): dstPath must be an existing directory and
	// the stream is extracted into it unchanged.
	Source *Source
	// Logger receives notes on skipped attributes; nil is slog.Default().
	Logger *slog.Logger
}

// ToContainer extracts the tar stream r into dstPath of the container root
// filesystem rootfs with Docker's rules (see ToOptions.Source). dstPath is
// resolved inside rootfs, a final symlink included (so a link to a
// directory receives into that directory), and every entry is created
// through descriptors below it (see the package documentation). A missing
// destination parent is ErrNotFound; entries whose names climb out are
// ErrBreakout. On error, entries extracted before stay, as with Docker.
func ToContainer(ctx context.Context, rootfs, dstPath string, r io.Reader, o ToOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rt, err := openRoot(rootfs)
	if err != nil {
		return fmt.Errorf("copy to container: %w", err)
	}
	defer rt.close()
	prefix, from, to, err := rt.destination(dstPath, o.Source)
	if err != nil {
		return fmt.Errorf("copy to container: %w", err)
	}
	opts := extractOptions{noOverwriteDirNonDir: o.NoOverwriteDirNonDir, from: from, to: to, log: o.Logger}
	if o.CopyUIDGID {
		opts.owner = &[2]int{o.UID, o.GID}
	}
	if err := extract(ctx, rt, prefix, r, opts); err != nil {
		return fmt.Errorf("copy to container %s: %w", dstPath, err)
	}
	return nil
}

// destination applies Docker's naming rules to a container destination:
// it returns the directory to extract into (a path inside the root) and
// the renaming of the stream's top entry.
func (r *root) destination(dstPath string, src *Source) (prefix, from, to string, err error) {
	clean, _, slash := ctrPath(dstPath)
	// A second round follows a dangling final symlink, or looks again at
	// a destination that appeared between the two lookups.
	for range 3 {
		fd, err := r.open(clean, unix.O_PATH)
		if err == nil {
			return r.existing(fd, clean, src)
		}
		if !errors.Is(err, unix.ENOENT) {
			return "", "", "", pathErr(clean, err)
		}
		if src == nil {
			return "", "", "", fmt.Errorf("%s: %w", clean, ErrNotFound)
		}
		dir, base := path.Split(clean)
		pfd, err := r.open(dir, unix.O_PATH|unix.O_DIRECTORY)
		if err != nil {
			return "", "", "", pathErr(clean, err)
		}
		var st unix.Stat_t
		lerr := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
		if lerr == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
			// A dangling symlink: the copy creates what it points to,
			// as Docker's client does with the link's target.
			unix.Close(pfd)
			if clean, err = r.linkTarget(clean); err != nil {
				return "", "", "", err
			}
			continue
		}
		if lerr == nil {
			unix.Close(pfd)
			continue
		}
		parent, err := r.inRoot(pfd)
		unix.Close(pfd)
		if err != nil {
			return "", "", "", err
		}
		if slash && !src.IsDir {
			return "", "", "", fmt.Errorf("%s: %w", clean, ErrDirNotExists)
		}
		return parent, src.Base, base, nil
	}
	return "", "", "", fmt.Errorf("%s: %w", clean, ErrNotFound)
}

// existing applies the naming rules to a destination that exists, open
// as fd (which it closes).
func (r *root) existing(fd int, clean string, src *Source) (prefix, from, to string, err error) {
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "", "", "", fmt.Errorf("stat %s: %w", clean, err)
	}
	at, err := r.inRoot(fd)
	if err != nil {
		return "", "", "", err
	}
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFDIR:
		return at, "", "", nil
	case src == nil:
		return "", "", "", fmt.Errorf("destination %s: %w", clean, ErrNotDirectory)
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return "", "", "", fmt.Errorf("destination %s: %w", clean, ErrNotDirOrFile)
	case src.IsDir:
		return "", "", "", fmt.Errorf("%s onto file %s: %w", src.Base, clean, ErrCannotCopyDir)
	}
	dir, base := path.Split(at)
	return dir, src.Base, base, nil
}
