package layer

import (
	"errors"
	"path"
	"strings"
)

// OCI whiteout names (image-spec layer.md, "Whiteouts").
const (
	// WhiteoutPrefix marks a deleted entry: ".wh.name" deletes "name".
	WhiteoutPrefix = ".wh."
	// WhiteoutMetaPrefix starts AUFS-internal names, which are skipped.
	WhiteoutMetaPrefix = WhiteoutPrefix + WhiteoutPrefix
	// WhiteoutOpaqueDir in a directory hides everything lower layers put in it.
	WhiteoutOpaqueDir = WhiteoutMetaPrefix + ".opq"
)

// ErrBreakout is wrapped by errors for entry names or hardlink targets
// that climb out of the target directory with "..". Docker calls these
// "breakout" names and refuses the layer; so do we.
var ErrBreakout = errors.New("path escapes the layer root")

// cleanName turns a tar entry name into a clean path relative to the
// layer root: leading slashes are dropped (absolute names are relative
// to the root, as tar itself does), "." and ".." are folded, and a name
// whose ".." climbs above the root is an error rather than clamped,
// because such a name only exists to attack the applier. The root itself
// comes back as ".".
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

// splitName splits a clean relative name into its parent directory and
// final component. The parent of a top-level name is ".".
func splitName(rel string) (dir, base string) {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return ".", rel
	}
	return rel[:i], rel[i+1:]
}
