package copier

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// Options tunes Copy.
type Options struct {
	// Chown, when set, owns every created entry (--chown); otherwise
	// entries are owned by 0:0 as Docker's COPY does. Archives unpacked
	// by ADD keep the owners their tar holds.
	Chown *Owner
	// Chmod, when set, replaces the permission bits of copied files and
	// directories (--chmod).
	Chmod *fs.FileMode
	// ExtractArchives is ADD: local tar archives are unpacked and
	// http(s) URLs downloaded.
	ExtractArchives bool
	// Workdir is the directory a relative destination is taken from
	// ("/" when empty).
	Workdir string
	// Exclude, when set, is asked about every entry below a source,
	// with its path relative to the source root; it returns whether the
	// entry is left out and, for an excluded directory, whether its
	// children must still be looked at (a later "!" rule may bring some
	// back). Package buildctx sets it from .dockerignore.
	Exclude func(rel string, isDir bool) (excluded, descend bool)
	// Fetched maps URLs already downloaded (by a cache check) to the
	// local files holding them, so ADD does not fetch them twice.
	Fetched map[string]Download
	// HTTPClient downloads URLs; nil means http.DefaultClient.
	HTTPClient *http.Client
}

// ErrNoSources is returned when Copy is given no sources.
var ErrNoSources = errors.New("no source files were specified")

// IsURL reports whether src is a remote source (ADD http:// or https://).
func IsURL(src string) bool {
	return strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://")
}

// Copy copies sources (paths relative to the source root src; their
// symlinks are followed inside src) to dest inside destRoot with the
// rules of Dockerfile COPY, or ADD with o.ExtractArchives. Every write
// stays inside destRoot. On error what was already copied stays: the
// caller works in a snapshot it throws away on failure.
func Copy(ctx context.Context, src string, sources []string, destRoot, dest string, o Options) error {
	if len(sources) == 0 {
		return ErrNoSources
	}
	if dest == "" {
		return fmt.Errorf("copy: empty destination")
	}
	dr, err := openRoot(destRoot)
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	defer dr.close()
	var sr *root
	for _, s := range sources {
		if IsURL(s) {
			continue
		}
		if sr == nil {
			if sr, err = openRoot(src); err != nil {
				return fmt.Errorf("copy: %w", err)
			}
			defer sr.close()
		}
	}

	destRel, dirHint := destPath(dest, o.Workdir)
	isDir := dirHint
	if !isDir {
		if fd, err := dr.open(destRel, unix.O_PATH|unix.O_DIRECTORY); err == nil {
			unix.Close(fd)
			isDir = true
		}
	}
	if len(sources) > 1 && !isDir {
		return fmt.Errorf("when using COPY with more than one source file, the destination must be a directory and end with a /")
	}

	c := &copier{ctx: ctx, o: o, dst: dr, src: sr, links: map[devIno]int{}}
	defer c.closeLinks()
	for _, s := range sources {
		if err := ctx.Err(); err != nil {
			return err
		}
		if IsURL(s) {
			if !o.ExtractArchives {
				return fmt.Errorf("source can't be a URL for COPY: %s", s)
			}
			if err := c.addURL(s, destRel, isDir); err != nil {
				return err
			}
			continue
		}
		if err := c.copySource(s, destRel, isDir); err != nil {
			return err
		}
	}
	return nil
}

// destPath turns a Dockerfile destination into a clean path relative to
// the root ("" for the root itself) and reports whether it names a
// directory by its form: a trailing "/", or "." / ".." as last element.
func destPath(dest, workdir string) (string, bool) {
	dirHint := strings.HasSuffix(dest, "/") || path.Base(dest) == "." || path.Base(dest) == ".."
	if !path.IsAbs(dest) {
		if workdir == "" {
			workdir = "/"
		}
		dest = path.Join(workdir, dest)
	}
	rel := strings.TrimPrefix(path.Clean("/"+dest), "/")
	if rel == "" {
		dirHint = true
	}
	return rel, dirHint
}

// copySource copies one source of the source root to destRel.
func (c *copier) copySource(s, destRel string, destIsDir bool) error {
	resolved, _, err := Resolve(c.src.path, s)
	if err != nil {
		return fmt.Errorf("copy %s: %w", s, err)
	}
	pathfd, err := c.src.open(resolved, unix.O_PATH|unix.O_NOFOLLOW)
	if err != nil {
		return fmt.Errorf("copy %s: open source: %w", s, err)
	}
	defer unix.Close(pathfd)
	var st unix.Stat_t
	if err := unix.Fstat(pathfd, &st); err != nil {
		return fmt.Errorf("copy %s: %w", s, err)
	}
	// Only files and directories are opened for reading: opening a
	// device or FIFO of a stage's rootfs could block or act.
	sfd := pathfd
	if k := st.Mode & unix.S_IFMT; k == unix.S_IFREG || k == unix.S_IFDIR {
		if sfd, err = reopen(pathfd, unix.O_RDONLY); err != nil {
			return fmt.Errorf("copy %s: open source: %w", s, err)
		}
		defer unix.Close(sfd)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		dfd, err := c.dst.mkdirAll(destRel, c.o.Chown)
		if err != nil {
			return fmt.Errorf("copy %s: destination: %w", s, err)
		}
		defer unix.Close(dfd)
		return c.copyDirContents(sfd, resolved, dfd, destRel)
	}
	if c.o.ExtractArchives && st.Mode&unix.S_IFMT == unix.S_IFREG {
		done, err := c.extractIfArchive(sfd, s, destRel)
		if done || err != nil {
			return err
		}
	}
	parentRel, name := destRel, path.Base(sourceName(s))
	if !destIsDir {
		parentRel, name = path.Dir("/"+destRel), path.Base("/"+destRel)
	}
	pfd, err := c.dst.mkdirAll(parentRel, c.o.Chown)
	if err != nil {
		return fmt.Errorf("copy %s: destination: %w", s, err)
	}
	defer unix.Close(pfd)
	return c.copyOpen(sfd, &st, resolved, pfd, path.Join(parentRel, name), name)
}

// sourceName is the name a source keeps in a directory destination:
// the last element of the source as written (a symlinked source keeps
// the link's name).
func sourceName(s string) string {
	s = strings.TrimRight(s, "/")
	if s == "" || s == "." {
		return "."
	}
	return s
}
