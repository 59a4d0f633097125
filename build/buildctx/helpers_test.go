package buildctx

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth/build/copier"
)

// tree makes files under dir: "name" -> content; a name ending in "/"
// is a directory, content "->target" a symlink.
func tree(t testing.TB, dir string, spec map[string]string) {
	t.Helper()
	for name, content := range spec {
		p := filepath.Join(dir, name)
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(content, "->") {
			if err := os.Symlink(content[2:], p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// openTree makes a context from spec and closes it when the test ends.
func openTree(t testing.TB, spec map[string]string) *Context {
	t.Helper()
	dir := t.TempDir()
	tree(t, dir, spec)
	c, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// paths lists the Path of each source.
func paths(srcs []Source) []string {
	var out []string
	for _, s := range srcs {
		out = append(out, s.Path)
	}
	return out
}

// copierOpts are plain COPY options.
func copierOpts() copier.Options { return copier.Options{} }
