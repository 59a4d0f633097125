package build

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth/content"
)

// cacheEntry is what a step made: its time (kept, so that a rebuild from
// the cache gives the same image ID) and its layer (none for a step that
// changed only the configuration, or no file).
type cacheEntry struct {
	Created time.Time           `json:"created"`
	Layer   *ocispec.Descriptor `json:"layer,omitempty"`
	DiffID  digest.Digest       `json:"diffID,omitempty"`
}

// cache stores step results as one small JSON file per step key under
// <root>/build/cache. An entry is written only after its layer blob is
// committed, and an entry whose blob is gone (image rm, prune) counts as
// a miss and is deleted: the cache never points at removed content.
type cache struct {
	dir     string
	content *content.Store
}

func (c *cache) path(key digest.Digest) string {
	return filepath.Join(c.dir, key.Encoded()+".json")
}

// get returns the entry of key, if it is there and its layer exists.
func (c *cache) get(key digest.Digest) (cacheEntry, bool) {
	b, err := os.ReadFile(c.path(key))
	if err != nil {
		return cacheEntry{}, false
	}
	var e cacheEntry
	if err := json.Unmarshal(b, &e); err != nil || (e.Layer != nil && (e.Layer.Digest.Validate() != nil || e.DiffID.Validate() != nil)) {
		_ = os.Remove(c.path(key))
		return cacheEntry{}, false
	}
	if e.Layer != nil && !c.content.Exists(e.Layer.Digest) {
		_ = os.Remove(c.path(key))
		return cacheEntry{}, false
	}
	return e, true
}

// put records key's entry atomically (temp file, fsync, rename).
func (c *cache) put(key digest.Digest, e cacheEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("build cache: %w", err)
	}
	f, err := os.CreateTemp(c.dir, ".tmp-")
	if err != nil {
		return fmt.Errorf("build cache: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("build cache: %w", err)
	}
	if err := os.Rename(f.Name(), c.path(key)); err != nil {
		return fmt.Errorf("build cache: %w", err)
	}
	return nil
}

// staleTemp is the age after which a cache temp file is one a killed
// build left, not one a live build is writing.
const staleTemp = time.Hour

// prune removes entries whose layer blob no longer exists and temp files
// a killed build left; it returns how many entries it removed.
func (c *cache) prune() (int, error) {
	ents, err := os.ReadDir(c.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("build cache: %w", err)
	}
	n := 0
	for _, de := range ents {
		name := de.Name()
		if name == ".pruned" {
			continue
		}
		if filepath.Ext(name) != ".json" {
			// A temp file may be another build's entry being written.
			if fi, err := de.Info(); err == nil && time.Since(fi.ModTime()) > staleTemp {
				_ = os.Remove(filepath.Join(c.dir, name))
			}
			continue
		}
		key := digest.NewDigestFromEncoded(digest.SHA256, name[:len(name)-len(".json")])
		if key.Validate() != nil {
			_ = os.Remove(filepath.Join(c.dir, name))
			continue
		}
		if _, ok := c.get(key); !ok {
			n++
		}
	}
	return n, nil
}

// due tells whether entries may point at removed blobs: the blob
// directory changed (a blob was added or removed) since the last prune.
// It marks now as the time of the next prune when it says yes.
func (c *cache) due() bool {
	mark := filepath.Join(c.dir, ".pruned")
	blobs := filepath.Join(c.content.Dir(), "blobs", "sha256")
	if mi, err := os.Stat(mark); err == nil {
		if bi, err := os.Stat(blobs); err == nil && !bi.ModTime().After(mi.ModTime()) {
			return false
		}
	}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return true
	}
	if err := os.WriteFile(mark, nil, 0o600); err == nil {
		now := time.Now()
		_ = os.Chtimes(mark, now, now)
	}
	return true
}
