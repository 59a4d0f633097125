package copier

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// maxLinks bounds the symlinks followed in one path, as the kernel's
// ELOOP limit does, so a link loop fails instead of spinning.
const maxLinks = 40

// ErrTooManyLinks is wrapped by Resolve's error for a symlink loop.
var ErrTooManyLinks = errors.New("too many levels of symbolic links")

// Resolve follows the symlinks of rel inside the directory root, as if
// root were "/" (a chroot's view), and returns the resolved path
// relative to root, slash-separated and clean ("." for the root itself).
// escaped reports whether the path or one of its links pointed outside
// root: an absolute link target, or a ".." that climbs above root; such
// a path is clamped to root (as Docker's FollowSymlinkInScope does), and
// callers that must refuse it check escaped. A missing component ends
// the walk: the path resolved so far joined with the rest is returned
// together with an error wrapping fs.ErrNotExist.
func Resolve(root, rel string) (resolved string, escaped bool, err error) {
	todo := splitPath(rel)
	if path.IsAbs(filepath.ToSlash(rel)) {
		todo = splitPath(strings.TrimLeft(rel, "/"))
	}
	var cur []string
	links := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				escaped = true
			} else {
				cur = cur[:len(cur)-1]
			}
			continue
		}
		next := append(append([]string(nil), cur...), c)
		fi, err := os.Lstat(filepath.Join(root, filepath.Join(next...)))
		if err != nil {
			rest := path.Join(append(next, todo...)...)
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, os.ErrNotExist) {
				return rest, escaped, fmt.Errorf("stat %s: %w", rest, fs.ErrNotExist)
			}
			return rest, escaped, fmt.Errorf("stat %s: %w", rest, err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			if len(todo) > 0 && !fi.IsDir() {
				rest := path.Join(append(next, todo...)...)
				return rest, escaped, fmt.Errorf("stat %s: %s is not a directory: %w", rest, path.Join(next...), fs.ErrNotExist)
			}
			cur = next
			continue
		}
		links++
		if links > maxLinks {
			return path.Join(next...), escaped, fmt.Errorf("resolve %s: %w", rel, ErrTooManyLinks)
		}
		target, err := os.Readlink(filepath.Join(root, filepath.Join(next...)))
		if err != nil {
			return path.Join(next...), escaped, fmt.Errorf("readlink %s: %w", path.Join(next...), err)
		}
		if strings.HasPrefix(target, "/") {
			escaped = true
			cur = nil
		}
		todo = append(splitPath(target), todo...)
	}
	if len(cur) == 0 {
		return ".", escaped, nil
	}
	return path.Join(cur...), escaped, nil
}

// splitPath splits a slash-separated path into its elements.
func splitPath(p string) []string {
	return strings.Split(filepath.ToSlash(p), "/")
}
