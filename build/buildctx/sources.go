package buildctx

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"berth/build/copier"
)

// Source is one COPY/ADD source found in the context.
type Source struct {
	// Pattern is the source as written in the Dockerfile.
	Pattern string
	// Path is the matched path relative to the context, slash-separated
	// ("." for the context root); a symlink keeps its own name here.
	// For a URL it is the URL.
	Path string
	// Resolved is Path with its symlinks followed (inside the context).
	Resolved string
	// Dir reports whether Resolved is a directory (its contents are
	// copied).
	Dir bool
	// URL reports an ADD source http(s)://...; only ADD accepts it.
	URL bool
}

// ErrOutsideContext is wrapped by the errors for sources that would
// leave the build context.
var ErrOutsideContext = errors.New("forbidden path outside the build context")

// ErrNotFound is wrapped by the errors for sources that do not exist or
// are excluded by .dockerignore.
var ErrNotFound = errors.New("file not found in build context or excluded by .dockerignore")

// Sources expands COPY/ADD source patterns in the context, in order.
// Wildcards (* ? [...] and \ escapes) follow path.Match per path element,
// as Docker's COPY does ("**" is not special); an absolute pattern is
// relative to the context; "../" above the context and symlinks whose
// target lies outside it are refused with ErrOutsideContext; a missing
// or ignored path is ErrNotFound, and a wildcard matching nothing is
// Docker's "no source files were specified". http(s) URLs are returned
// as URL sources.
func (c *Context) Sources(patterns []string) ([]Source, error) {
	if len(patterns) == 0 {
		return nil, copier.ErrNoSources
	}
	var out []Source
	for _, p := range patterns {
		if copier.IsURL(p) {
			out = append(out, Source{Pattern: p, Path: p, URL: true})
			continue
		}
		clean := cleanPattern
		if c.inRoot {
			clean = cleanTreePattern
		}
		rel, err := clean(p)
		if err != nil {
			return nil, err
		}
		if !hasWildcard(rel) {
			s, err := c.source(p, rel)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
			continue
		}
		matches, err := c.glob(p, rel)
		if err != nil {
			return nil, err
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("%w (%q matches nothing in the build context)", copier.ErrNoSources, p)
		}
		out = append(out, matches...)
	}
	return out, nil
}

// cleanPattern makes a source pattern relative to the context and
// refuses one that climbs above it.
func cleanPattern(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("empty source path")
	}
	if strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("source %q: NUL byte in path", p)
	}
	q := path.Clean(filepath.ToSlash(p))
	if strings.HasPrefix(q, "/") {
		// Absolute sources are taken from the context root; a ".."
		// above "/" stays at the root, as path.Clean does.
		q = strings.TrimLeft(q, "/")
		if q == "" {
			q = "."
		}
		return q, nil
	}
	if q == ".." || strings.HasPrefix(q, "../") {
		return "", fmt.Errorf("%w: %s", ErrOutsideContext, p)
	}
	return q, nil
}

// cleanTreePattern is cleanPattern for a root filesystem: ".." stops
// at the root, as in a chroot.
func cleanTreePattern(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("empty source path")
	}
	return cleanPattern("/" + p)
}

// hasWildcard reports whether a pattern has glob characters.
func hasWildcard(p string) bool {
	return strings.ContainsAny(p, `*?[\`)
}

// source checks one literal path of the context.
func (c *Context) source(pattern, rel string) (Source, error) {
	resolved, escaped, err := copier.Resolve(c.dir, rel)
	if escaped && !c.inRoot {
		return Source{}, fmt.Errorf("%w: %s (a symlink leads out of it)", ErrOutsideContext, pattern)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Source{}, fmt.Errorf("%w: stat %s: file does not exist", ErrNotFound, rel)
		}
		if errors.Is(err, copier.ErrTooManyLinks) {
			return Source{}, fmt.Errorf("source %s: %w", pattern, err)
		}
		return Source{}, fmt.Errorf("source %s: %w", pattern, err)
	}
	fi, err := os.Stat(filepath.Join(c.dir, resolved))
	if err != nil {
		return Source{}, fmt.Errorf("%w: stat %s: %v", ErrNotFound, rel, err)
	}
	// Ignored paths are not in the context at all: neither the name
	// nor what it resolves to may be excluded.
	if c.Excluded(rel, fi.IsDir()) || c.Excluded(resolved, fi.IsDir()) {
		return Source{}, fmt.Errorf("%w: stat %s: file does not exist", ErrNotFound, rel)
	}
	return Source{Pattern: pattern, Path: rel, Resolved: resolved, Dir: fi.IsDir()}, nil
}

// glob expands a wildcard pattern one path element at a time.
func (c *Context) glob(pattern, rel string) ([]Source, error) {
	elems := strings.Split(rel, "/")
	cands := []string{"."}
	for i, el := range elems {
		last := i == len(elems)-1
		var next []string
		for _, cand := range cands {
			if !hasWildcard(el) {
				next = append(next, path.Join(cand, el))
				continue
			}
			dirRel, escaped, err := copier.Resolve(c.dir, cand)
			if escaped && !c.inRoot {
				return nil, fmt.Errorf("%w: %s (a symlink leads out of it)", ErrOutsideContext, pattern)
			}
			if err != nil {
				continue // a literal part that does not exist matches nothing
			}
			ents, err := os.ReadDir(filepath.Join(c.dir, dirRel))
			if err != nil {
				continue // not a directory
			}
			names := make([]string, 0, len(ents))
			for _, e := range ents {
				ok, err := path.Match(el, e.Name())
				if err != nil {
					return nil, fmt.Errorf("source %q: %w", pattern, err)
				}
				if !ok || (!last && !e.IsDir() && e.Type()&fs.ModeSymlink == 0) {
					continue
				}
				names = append(names, e.Name())
			}
			sort.Strings(names)
			for _, n := range names {
				next = append(next, path.Join(cand, n))
			}
		}
		cands = next
	}
	var out []Source
	for _, m := range cands {
		s, err := c.source(pattern, m)
		if errors.Is(err, ErrNotFound) {
			continue // an ignored or vanished match is simply not there
		}
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
