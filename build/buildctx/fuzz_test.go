package buildctx

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzFromTar feeds arbitrary bytes as a context on stdin: no panic,
// and nothing written outside the directory FromTar made.
func FuzzFromTar(f *testing.F) {
	f.Add([]byte("FROM busybox\n"))
	f.Add(tarOf(f, []tar.Header{{Name: "a", Typeflag: tar.TypeReg}}, map[string]string{"a": "x"}))
	f.Add(tarOf(f, []tar.Header{{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "../.."}, {Name: "l/x", Typeflag: tar.TypeReg}}, nil))
	f.Add(tarOf(f, []tar.Header{{Name: "../x", Typeflag: tar.TypeReg}}, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Compressed streams expand by up to 30000x (zstd RLE blocks):
		// small inputs keep each run short; sizes are not what this
		// target tests.
		if len(data) > 8<<10 {
			return
		}
		base := t.TempDir()
		tmp := filepath.Join(base, "tmp")
		if err := os.Mkdir(tmp, 0o755); err != nil {
			t.Fatal(err)
		}
		c, err := FromTar(context.Background(), bytes.NewReader(data), tmp)
		if err == nil {
			if _, err := c.Dockerfile(""); err != nil && c.stdinDockerfile != nil {
				t.Fatalf("stdin Dockerfile unreadable: %v", err)
			}
			c.Close()
		}
		ents, _ := os.ReadDir(base)
		if len(ents) != 1 {
			t.Fatalf("FromTar wrote beside its directory: %d entries in base", len(ents))
		}
		left, _ := os.ReadDir(tmp)
		if len(left) != 0 {
			t.Fatalf("FromTar left %d entries after Close or failure", len(left))
		}
	})
}

// FuzzParseIgnore parses arbitrary .dockerignore files and matches
// arbitrary paths against them: no panic, and accepted rules can be
// used.
func FuzzParseIgnore(f *testing.F) {
	for _, s := range []string{"*.log\n!keep.log\n", "**/x\n", "[\n", "!\n", "/a/../../b\n", "\xef\xbb\xbf#c\n  d  \n"} {
		f.Add(s, "a/b/keep.log")
	}
	f.Fuzz(func(t *testing.T, data, p string) {
		pats, err := ParseIgnore(".dockerignore", []byte(data))
		if err != nil {
			return
		}
		r, err := newIgnoreRules(".dockerignore", pats)
		if err != nil {
			t.Fatalf("checked patterns %q do not compile: %v", pats, err)
		}
		r.exclude(p, false)
		r.exclude(p, true)
	})
}

// FuzzSources resolves arbitrary patterns in a fixed context holding
// links that lead out: no panic, and no source ever resolves outside
// the context or to an ignored path.
func FuzzSources(f *testing.F) {
	for _, s := range []string{"*", "../x", "in/*", "abs/passwd", "**/*.go", "[", `\*`, "a/../../..", "/etc", "up*/x", "loop/x"} {
		f.Add(s)
	}
	dir := f.TempDir()
	tree(f, dir, map[string]string{
		"a.go": "", "d/b.go": "", "d/e/c.go": "", "ign.log": "", ".dockerignore": "*.log\n",
		"in": "->d", "abs": "->/etc", "up": "->../..", "loop": "->loop",
	})
	c, err := Open(context.Background(), dir)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, pat string) {
		srcs, err := c.Sources([]string{pat})
		if err != nil {
			return
		}
		for _, s := range srcs {
			if s.URL {
				continue
			}
			if s.Resolved == ".." || strings.HasPrefix(s.Resolved, "../") || strings.HasPrefix(s.Resolved, "/") {
				t.Fatalf("pattern %q resolved outside: %+v", pat, s)
			}
			real, err := filepath.EvalSymlinks(filepath.Join(dir, s.Path))
			if err != nil {
				t.Fatalf("pattern %q: %v", pat, err)
			}
			rootReal, _ := filepath.EvalSymlinks(dir)
			if real != rootReal && !strings.HasPrefix(real, rootReal+"/") {
				t.Fatalf("pattern %q leads to %s, outside %s", pat, real, rootReal)
			}
			if strings.HasSuffix(s.Resolved, ".log") {
				t.Fatalf("pattern %q returned ignored %s", pat, s.Path)
			}
			if _, err := c.Hash([]Source{s}); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("hash %q: %v", pat, err)
			}
		}
	})
}
