package buildctx

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// hashOf hashes the sources of patterns in c.
func hashOf(t *testing.T, c *Context, pats ...string) digest.Digest {
	t.Helper()
	s, err := c.Sources(pats)
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.Hash(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestHashTracksContentNotTimes(t *testing.T) {
	spec := map[string]string{"d/a": "one", "d/b/c": "two", "d/l": "->a", "x": "x", ".dockerignore": "d/ignored\n", "d/ignored": "i"}
	c := openTree(t, spec)
	base := hashOf(t, c, "d")
	if again := hashOf(t, c, "d"); again != base {
		t.Fatal("hash is not stable")
	}
	// Another context with the same content hashes the same.
	if other := hashOf(t, openTree(t, spec), "d"); other != base {
		t.Fatal("same content in another directory hashes differently")
	}
	dir := c.Dir()
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "d/a"), later, later); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(dir, "d/a"), 123, 456); err != nil && os.Geteuid() == 0 {
		t.Fatal(err)
	}
	if got := hashOf(t, c, "d"); got != base {
		t.Fatal("touching (or chowning) a file changed the hash")
	}
	if err := os.WriteFile(filepath.Join(dir, "d/ignored"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := hashOf(t, c, "d"); got != base {
		t.Fatal("an ignored file changed the hash")
	}
	changes := []struct {
		name string
		do   func() error
	}{
		{"content", func() error { return os.WriteFile(filepath.Join(dir, "d/b/c"), []byte("TWO"), 0o644) }},
		{"mode", func() error { return os.Chmod(filepath.Join(dir, "d/a"), 0o600) }},
		{"link target", func() error {
			os.Remove(filepath.Join(dir, "d/l"))
			return os.Symlink("b", filepath.Join(dir, "d/l"))
		}},
		{"rename", func() error { return os.Rename(filepath.Join(dir, "d/a"), filepath.Join(dir, "d/a2")) }},
		{"new empty dir", func() error { return os.Mkdir(filepath.Join(dir, "d/e"), 0o755) }},
	}
	prev := base
	for _, ch := range changes {
		if err := ch.do(); err != nil {
			t.Fatal(err)
		}
		got := hashOf(t, c, "d")
		if got == prev {
			t.Errorf("%s change kept the hash", ch.name)
		}
		prev = got
	}
	// Same bytes written again (mtime and ctime move): same hash as
	// before the rewrite, through the cache or by reading.
	if err := os.WriteFile(filepath.Join(dir, "d/b/c"), []byte("TWO"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := hashOf(t, c, "d"); got != prev {
		t.Fatal("rewriting the same bytes changed the hash")
	}
	if hashOf(t, c, "x") == hashOf(t, c, "d") {
		t.Fatal("different sources hash the same")
	}
}

func TestHashSameSizeRewriteWithinCache(t *testing.T) {
	c := openTree(t, map[string]string{"f": "aaaa"})
	first := hashOf(t, c, "f")
	p := filepath.Join(c.Dir(), "f")
	fi, _ := os.Stat(p)
	if err := os.WriteFile(p, []byte("bbbb"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Restore the old mtime: only ctime tells the cache the file moved.
	os.Chtimes(p, fi.ModTime(), fi.ModTime())
	if hashOf(t, c, "f") == first {
		t.Fatal("same-size rewrite with restored mtime was served from the cache")
	}
}
