package copy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// TarHost writes hostPath, a path on the host, to w as a tar stream with
// the same naming rules as FromContainer (the `berth cp ./x c:/y` side),
// following a final symlink when followLink is set (-L), and returns what
// the stream holds for ToContainer. The host path is the user's own and is
// resolved normally; the tree below it is still read by descriptor.
func TarHost(ctx context.Context, w io.Writer, hostPath string, followLink bool) (Source, error) {
	abs, err := absKeep(hostPath)
	if err != nil {
		return Source{}, err
	}
	r, err := openRoot("/")
	if err != nil {
		return Source{}, fmt.Errorf("copy %s: %w", hostPath, err)
	}
	defer r.close()
	t, err := r.resolve(abs, followLink)
	if err != nil {
		return Source{}, fmt.Errorf("copy %s: %w", hostPath, err)
	}
	defer t.close()
	src := Source{Base: t.name, IsDir: fileMode(t.st.Mode).IsDir()}
	tw := newTarWriter(ctx, w)
	if err := tw.write(t.dirfd, t.base, &t.st, t.name); err != nil {
		return src, fmt.Errorf("copy %s: %w", hostPath, err)
	}
	if err := tw.close(); err != nil {
		return src, fmt.Errorf("copy %s: %w", hostPath, err)
	}
	return src, nil
}

// HostOptions tunes ExtractHost.
type HostOptions struct {
	// Logger receives notes on skipped entries (device nodes); nil is
	// slog.Default().
	Logger *slog.Logger
}

// ExtractHost extracts a stream FromContainer wrote (described by src, its
// Stat.Source) to dstPath on the host, with Docker's naming rules: into an
// existing directory; over an existing file for a single-file source; or
// as a new entry named after dstPath, whose parent must exist. The
// destination path is the user's and is resolved normally; every entry of
// the stream, which comes from the container and is hostile, is created
// inside the directory it is extracted into (resolved with
// RESOLVE_IN_ROOT there), owned by the caller, without set-id bits,
// extended attributes or device nodes. When the stream is renamed into
// the destination's parent, an entry that is not part of the copied path
// is refused rather than written beside it. A directory is never replaced by a
// file or the reverse (Docker's client does the same).
func ExtractHost(ctx context.Context, r io.Reader, src Source, dstPath string, o HostOptions) error {
	abs, err := absKeep(dstPath)
	if err != nil {
		return err
	}
	dir, from, to, err := hostDestination(abs, src)
	if err != nil {
		return fmt.Errorf("copy to %s: %w", dstPath, err)
	}
	rt, err := openRoot(dir)
	if err != nil {
		return fmt.Errorf("copy to %s: %w", dstPath, err)
	}
	defer rt.close()
	opts := extractOptions{noOverwriteDirNonDir: true, host: true, from: from, to: to, onlyFrom: true, log: o.Logger}
	if err := extract(ctx, rt, ".", r, opts); err != nil {
		return fmt.Errorf("copy to %s: %w", dstPath, err)
	}
	return nil
}

// hostDestination applies Docker's naming rules (CopyInfoDestinationPath
// and PrepareArchiveCopy) to a host destination.
func hostDestination(abs string, src Source) (dir, from, to string, err error) {
	slash := strings.HasSuffix(abs, "/")
	st, err := os.Stat(abs)
	switch {
	case err == nil && st.IsDir():
		return abs, "", "", nil
	case err == nil && src.IsDir:
		return "", "", "", fmt.Errorf("%s onto file %s: %w", src.Base, abs, ErrCannotCopyDir)
	case err == nil && !st.Mode().IsRegular():
		return "", "", "", fmt.Errorf("%s: %w", abs, ErrNotDirOrFile)
	case err == nil:
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return "", "", "", err
		}
		return filepath.Dir(real), src.Base, filepath.Base(real), nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", "", "", err
	}
	clean := filepath.Clean(abs)
	parent := filepath.Dir(clean)
	pst, err := os.Stat(parent)
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", "", fmt.Errorf("%s: %w", parent, ErrNotFound)
	}
	if err != nil {
		return "", "", "", err
	}
	if !pst.IsDir() {
		return "", "", "", fmt.Errorf("%s: %w", parent, ErrNotDirectory)
	}
	if slash && !src.IsDir {
		return "", "", "", fmt.Errorf("%s: %w", abs, ErrDirNotExists)
	}
	return parent, src.Base, filepath.Base(clean), nil
}

// absKeep makes a host path absolute, keeping a trailing "/" or "/."
// (which the naming rules read).
func absKeep(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("empty path: %w", ErrNotFound)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", p, err)
	}
	switch {
	case p == "." || strings.HasSuffix(p, "/."):
		abs = strings.TrimSuffix(abs, "/") + "/."
	case strings.HasSuffix(p, "/") && abs != "/":
		abs += "/"
	}
	return abs, nil
}
