package buildctx

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"berth/build/copier"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// ignoreRules are the patterns of a .dockerignore file. The matcher is
// not safe for concurrent use, hence the lock.
type ignoreRules struct {
	file     string
	patterns []string
	mu       sync.Mutex
	pm       *patternmatcher.PatternMatcher
}

// ParseIgnore reads .dockerignore content with Docker's rules (comments,
// "!" exceptions, leading "/" dropped, paths cleaned) and checks every
// pattern's syntax. file names the source in errors.
func ParseIgnore(file string, data []byte) ([]string, error) {
	pats, err := ignorefile.ReadAll(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	for _, p := range pats {
		q := strings.TrimPrefix(p, "!")
		if q == "" {
			return nil, fmt.Errorf("%s: illegal exclusion pattern: %q", file, p)
		}
		if _, err := path.Match(q, ""); err != nil {
			return nil, fmt.Errorf("%s: syntax error in pattern %q: %w", file, p, err)
		}
	}
	if _, err := patternmatcher.New(pats); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return pats, nil
}

// newIgnoreRules compiles patterns; no patterns give nil (nothing is
// ignored).
func newIgnoreRules(file string, pats []string) (*ignoreRules, error) {
	if len(pats) == 0 {
		return nil, nil
	}
	pm, err := patternmatcher.New(pats)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &ignoreRules{file: file, patterns: pats, pm: pm}, nil
}

// exclude reports whether the context path rel is ignored and, for an
// ignored directory, whether its children must still be looked at
// (Docker walks into an excluded directory only when a "!" exception
// names something below it).
func (r *ignoreRules) exclude(rel string, isDir bool) (excluded, descend bool) {
	if r == nil || rel == "." || rel == "" {
		return false, true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	m, err := r.pm.MatchesOrParentMatches(rel)
	if err != nil {
		// Patterns were checked when read; a failure here is treated
		// as "not ignored", the safe side for a build.
		return false, true
	}
	if !m {
		return false, true
	}
	if !isDir || !r.pm.Exclusions() {
		return true, false
	}
	// Docker's archive walk: an excluded directory is entered only if
	// an exception pattern starts with it ("!dir/file").
	dirSlash := rel + "/"
	for _, p := range r.pm.Patterns() {
		if p.Exclusion() && strings.HasPrefix(p.String()+"/", dirSlash) {
			return true, true
		}
	}
	return true, false
}

// loadIgnore reads the ignore file name (relative to the context) if it
// exists and makes it the context's rules.
func (c *Context) loadIgnore(name string) error {
	rel, escaped, err := copier.Resolve(c.dir, name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("read %s: %w", name, err)
	}
	if escaped {
		return fmt.Errorf("read %s: it leads outside the build context", name)
	}
	data, err := os.ReadFile(filepath.Join(c.dir, rel))
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("read %s: %w", name, err)
	}
	pats, err := ParseIgnore(name, data)
	if err != nil {
		return err
	}
	rules, err := newIgnoreRules(name, pats)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.ignore = rules
	c.mu.Unlock()
	return nil
}

// rules returns the ignore rules in force.
func (c *Context) rules() *ignoreRules {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ignore
}

// Excluded reports whether the context path rel (slash-separated,
// relative) is left out by .dockerignore; COPY cannot see such paths.
func (c *Context) Excluded(rel string, isDir bool) bool {
	ex, descend := c.rules().exclude(rel, isDir)
	return ex && !(isDir && descend)
}

// IgnorePatterns returns the .dockerignore patterns in force.
func (c *Context) IgnorePatterns() []string {
	r := c.rules()
	if r == nil {
		return nil
	}
	return append([]string(nil), r.patterns...)
}
