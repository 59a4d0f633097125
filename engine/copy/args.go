package copy

import (
	"errors"
	"path"
	"strings"
)

// Errors of a copy, wrapped with the path they concern. The CLI turns
// ErrNotFound into Docker's "No such container:path: c:/nope".
var (
	// ErrNotFound is a source, destination or destination parent that
	// does not exist.
	ErrNotFound = errors.New("no such file or directory")
	// ErrNotDirectory is a path that must be a directory and is not
	// (Docker's "not a directory", "extraction point is not a directory").
	ErrNotDirectory = errors.New("not a directory")
	// ErrDirNotExists is a destination asserted to be a directory
	// (trailing "/") that does not exist, for a source that is a file.
	ErrDirNotExists = errors.New("no such directory")
	// ErrCannotCopyDir is a directory copied onto an existing file.
	ErrCannotCopyDir = errors.New("cannot copy directory")
	// ErrNotDirOrFile is a destination that exists but is neither a
	// directory nor a regular file.
	ErrNotDirOrFile = errors.New("must be a directory or a regular file")
	// ErrBreakout is a tar entry or hardlink whose name climbs above the
	// destination with "..". Such archives are refused, not clamped.
	ErrBreakout = errors.New("path escapes the destination")
)

// ParseCopyArg splits an argument of `berth cp` as Docker does: an
// absolute path, a path without ":", and a path whose part before the
// first ":" starts with "." or holds a "/" are host paths (container is
// ""); otherwise the part before the first ":" is the container and the
// rest its path ("c:/etc/hosts", "c:rel" relative to the container's
// root). "-" is a host argument: the tar stream on stdin or stdout.
func ParseCopyArg(arg string) (container, path string) {
	if strings.HasPrefix(arg, "/") {
		return "", arg
	}
	c, rest, ok := strings.Cut(arg, ":")
	if !ok || c == "" || strings.HasPrefix(c, ".") || strings.Contains(c, "/") {
		return "", arg
	}
	return c, rest
}

// ctrPath makes a container path absolute and clean while keeping what
// Docker reads in its ending: a trailing "/." (the directory's contents)
// or "/" (the path must be, or resolve to, a directory).
func ctrPath(p string) (clean string, dot, slash bool) {
	dot = p == "." || strings.HasSuffix(p, "/.")
	slash = strings.HasSuffix(p, "/")
	return path.Clean("/" + p), dot, slash
}

// entryBase is the name a copied path's top entry gets: the last element
// of the path as the user wrote it ("dir" for "/a/dir/"), or "." for a
// directory's contents ("dir/.") and for the root.
func entryBase(clean string, dot bool) string {
	if dot || clean == "/" {
		return "."
	}
	return path.Base(clean)
}

// cleanName turns a tar entry name into a clean path relative to the
// extraction directory; "." is that directory. A leading "/" is dropped;
// a name whose ".." climbs above the directory is ErrBreakout.
func cleanName(name string) (string, error) {
	if name == "" {
		return "", errors.New("empty name")
	}
	if strings.IndexByte(name, 0) >= 0 {
		return "", errors.New("name contains a NUL byte")
	}
	rel := strings.TrimLeft(name, "/")
	if rel == "" {
		return ".", nil
	}
	c := path.Clean(rel)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", ErrBreakout
	}
	return c, nil
}

// splitName splits a clean relative name into parent and last element.
func splitName(rel string) (dir, base string) {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return ".", rel
	}
	return rel[:i], rel[i+1:]
}

// rebase renames the top entry of a copy: names equal to from or below it
// are moved to to (Docker's RebaseArchiveEntries). A from of "." (a
// directory's contents) puts every entry below to.
func rebase(name, from, to string) string {
	if from == to || to == "" {
		return name
	}
	if from == "." {
		return path.Join(to, name)
	}
	if name == from {
		return to
	}
	if strings.HasPrefix(name, from+"/") {
		return to + name[len(from):]
	}
	return name
}
