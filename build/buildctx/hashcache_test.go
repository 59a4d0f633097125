package buildctx

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// openCached opens dir with a hash cache in cacheDir.
func openCached(t *testing.T, dir, cacheDir string) *Context {
	t.Helper()
	c, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetHashCache(cacheDir); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestHashCacheAcrossBuilds(t *testing.T) {
	dir, cacheDir := t.TempDir(), t.TempDir()
	tree(t, dir, map[string]string{"d/a": "aaaa", "d/b": "bbbb", "d/c": "cccc"})
	plain := func() string {
		c, err := Open(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return hashOf(t, c, "d").String()
	}

	c1 := openCached(t, dir, cacheDir)
	first := hashOf(t, c1, "d")
	// Files made a moment ago are "racy" and not remembered; pretend the
	// build started later so that these are.
	c1.cacheStart = time.Now().Add(time.Hour)
	if err := c1.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(cacheDir, "*.json"))
	if len(files) != 1 {
		t.Fatalf("cache files: %v", files)
	}
	var ents []hashCacheEntry
	b, _ := os.ReadFile(files[0])
	if err := json.Unmarshal(b, &ents); err != nil || len(ents) != 3 {
		t.Fatalf("cache holds %d entries (%v), want 3", len(ents), err)
	}

	// The next build takes digests from the cache: a poisoned entry
	// shows it (and proves the key is what decides).
	for i := range ents {
		ents[i].Digest = digest.FromString("poison")
	}
	poisoned, _ := json.Marshal(ents)
	if err := os.WriteFile(files[0], poisoned, 0o600); err != nil {
		t.Fatal(err)
	}
	c2 := openCached(t, dir, cacheDir)
	if hashOf(t, c2, "d") == first {
		t.Fatal("the remembered digests were not used")
	}
	c2.Close()

	// A same-size rewrite with the mtime put back still changes ctime:
	// the cache must not serve the old digest.
	os.WriteFile(files[0], b, 0o600) // the honest cache again
	p := filepath.Join(dir, "d/b")
	fi, _ := os.Stat(p)
	if err := os.WriteFile(p, []byte("BBBB"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(p, fi.ModTime(), fi.ModTime())
	c3 := openCached(t, dir, cacheDir)
	got := hashOf(t, c3, "d")
	c3.Close()
	if got == first || got.String() != plain() {
		t.Fatalf("after a rewrite: cached %s, plain %s, before %s", got, plain(), first)
	}

	// A torn cache file is a cold start, not an error.
	if err := os.WriteFile(files[0], []byte("[{"), 0o600); err != nil {
		t.Fatal(err)
	}
	c4 := openCached(t, dir, cacheDir)
	if hashOf(t, c4, "d").String() != plain() {
		t.Fatal("torn cache changed the hash")
	}
	c4.Close()
}
