package build

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth/content"
)

func TestCacheValidatesLayers(t *testing.T) {
	dir := t.TempDir()
	cs, err := content.Open(filepath.Join(dir, "content"))
	if err != nil {
		t.Fatal(err)
	}
	c := &cache{dir: filepath.Join(dir, "cache"), content: cs}
	blob, err := cs.WriteBlob(context.Background(), ocispec.MediaTypeImageLayerGzip, []byte("layer"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	withLayer, meta, gone := stepKey("", "a"), stepKey("", "b"), stepKey("", "c")
	missing := ocispec.Descriptor{Digest: digest.FromString("not stored"), Size: 1}
	for k, e := range map[digest.Digest]cacheEntry{
		withLayer: {Created: now, Layer: &blob, DiffID: digest.FromString("d")},
		meta:      {Created: now},
		gone:      {Created: now, Layer: &missing, DiffID: digest.FromString("d")},
	} {
		if err := c.put(k, e); err != nil {
			t.Fatal(err)
		}
	}
	if e, ok := c.get(withLayer); !ok || e.Layer.Digest != blob.Digest || !e.Created.Equal(now) {
		t.Errorf("entry with a stored layer: %+v %v", e, ok)
	}
	if _, ok := c.get(meta); !ok {
		t.Error("entry without a layer missed")
	}
	if _, ok := c.get(gone); ok {
		t.Error("entry whose layer is gone was a hit")
	}
	if _, err := os.Stat(c.path(gone)); !os.IsNotExist(err) {
		t.Errorf("entry whose layer is gone was kept: %v", err)
	}
	// A corrupt entry is a miss, and prune removes what points nowhere.
	os.WriteFile(c.path(meta), []byte("{not json"), 0o600)
	if _, ok := c.get(meta); ok {
		t.Error("corrupt entry was a hit")
	}
	if err := c.put(gone, cacheEntry{Layer: &missing, DiffID: digest.FromString("d")}); err != nil {
		t.Fatal(err)
	}
	// A killed build's temp file (old), and a live build's (fresh).
	os.WriteFile(filepath.Join(c.dir, ".tmp-123"), nil, 0o600)
	old := time.Now().Add(-2 * staleTemp)
	os.Chtimes(filepath.Join(c.dir, ".tmp-123"), old, old)
	os.WriteFile(filepath.Join(c.dir, ".tmp-live"), nil, 0o600)
	if !c.due() || c.due() {
		t.Error("due: want true once, then false until a blob changes")
	}
	later := time.Now().Add(time.Minute)
	os.Chtimes(filepath.Join(dir, "content", "blobs", "sha256"), later, later)
	if !c.due() {
		t.Error("due: false after the blobs changed")
	}
	if n, err := c.prune(); err != nil || n != 1 {
		t.Errorf("prune: %d, %v; want 1", n, err)
	}
	left, _ := os.ReadDir(c.dir)
	var names []string
	for _, de := range left {
		names = append(names, de.Name())
	}
	if len(names) != 3 || names[1] != ".tmp-live" { // the prune mark, the live temp file and entry
		t.Errorf("after prune: %v", names)
	}
}
