package buildctx

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/go-digest"
)

// racyWindow is how recent a file's change may be for its digest to be
// kept across builds. A file changed twice within one timestamp tick
// keeps its (size, mtime, ctime) while its content changes, so, as Git
// does with its index ("racy git"), a digest is only remembered for
// files whose last change is clearly older than the hashing.
const racyWindow = 2 * time.Second

// maxCacheFile bounds the hash cache file read back (a context of a
// million files stays far below it).
const maxCacheFile = 256 << 20

// hashCacheEntry is one remembered file digest.
type hashCacheEntry struct {
	Dev    uint64        `json:"dev"`
	Ino    uint64        `json:"ino"`
	Size   uint64        `json:"size"`
	Mtime  int64         `json:"mtime"`
	Ctime  int64         `json:"ctime"`
	Digest digest.Digest `json:"digest"`
}

// SetHashCache makes the context remember file digests across builds
// in dir (a directory of berth's root, such as <root>/build/hashcache),
// in one file per context directory: a file whose device, inode, size,
// mtime and ctime are unchanged since the last build is not read again,
// which is most of a warm rebuild's work. Close writes back the digests
// this build used (so files that left the context are forgotten). A
// missing or unreadable cache file only means a cold start.
func (c *Context) SetHashCache(dir string) error {
	if c.inRoot || c.tmp != "" {
		return nil // trees and stdin contexts are new each build
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("hash cache: %w", err)
	}
	sum := sha256.Sum256([]byte(c.dir))
	file := filepath.Join(dir, hex.EncodeToString(sum[:])+".json")
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cacheFile = file
	c.cacheStart = time.Now()
	c.loaded = map[fileKey]digest.Digest{}
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() > maxCacheFile {
		return nil
	}
	var ents []hashCacheEntry
	if err := json.NewDecoder(f).Decode(&ents); err != nil {
		return nil // a torn or old file: start cold
	}
	for _, e := range ents {
		if e.Digest.Validate() != nil {
			continue
		}
		c.loaded[fileKey{dev: e.Dev, ino: e.Ino, size: e.Size, mtime: e.Mtime, ctime: e.Ctime}] = e.Digest
	}
	return nil
}

// lookupLocked returns a known digest for key: from this build, or
// remembered from the last one. c.mu is held.
func (c *Context) lookupLocked(key fileKey) (digest.Digest, bool) {
	if d, ok := c.hashes[key]; ok {
		return d, true
	}
	if d, ok := c.loaded[key]; ok {
		c.hashes[key] = d
		return d, true
	}
	return "", false
}

// saveHashCache writes the digests of this build that are old enough to
// trust, atomically (temp file and rename).
func (c *Context) saveHashCache() error {
	c.mu.Lock()
	file, start := c.cacheFile, c.cacheStart
	ents := make([]hashCacheEntry, 0, len(c.hashes))
	limit := start.Add(-racyWindow).UnixNano()
	for k, d := range c.hashes {
		if k.ctime >= limit || k.mtime >= limit {
			continue
		}
		ents = append(ents, hashCacheEntry{Dev: k.dev, Ino: k.ino, Size: k.size, Mtime: k.mtime, Ctime: k.ctime, Digest: d})
	}
	c.mu.Unlock()
	if file == "" {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".hashcache-*")
	if err != nil {
		return fmt.Errorf("hash cache: %w", err)
	}
	err = json.NewEncoder(tmp).Encode(ents)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), file)
	}
	if err != nil {
		os.Remove(tmp.Name())
		if errors.Is(err, fs.ErrNotExist) {
			return nil // the root went away meanwhile
		}
		return fmt.Errorf("hash cache: %w", err)
	}
	return nil
}
