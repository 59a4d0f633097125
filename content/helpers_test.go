package content

import (
	"bytes"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// newStore opens a store in a fresh temporary directory.
func newStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "content"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testData is size deterministic pseudo-random bytes.
func testData(seed uint64, size int) []byte {
	var key [32]byte
	key[0] = byte(seed)
	key[1] = byte(seed >> 8)
	b := make([]byte, size)
	rand.NewChaCha8(key).Read(b)
	return b
}

// descOf is the full descriptor of b.
func descOf(b []byte) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.FromBytes(b), Size: int64(len(b))}
}

// blobNames lists blobs/sha256.
func blobNames(t testing.TB, s *Store) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.Dir(), blobsDir, "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// assertClean fails if the ingest area holds anything or a temporary
// file is left anywhere in the store.
func assertClean(t testing.TB, s *Store) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.Dir(), ingestDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left in ingest/: %s", e.Name())
	}
	filepath.WalkDir(s.Dir(), func(p string, d fs.DirEntry, err error) error {
		if err == nil && isTemp(d.Name()) {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

// assertBlob fails unless d is committed with content want.
func assertBlob(t testing.TB, s *Store, d digest.Digest, want []byte) {
	t.Helper()
	got, err := s.ReadBlob(d, int64(len(want)))
	if err != nil {
		t.Fatalf("read %s: %v", d, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("blob %s: content differs", d)
	}
}

// listTree is every path under dir, sorted, for before/after comparisons.
func listTree(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err == nil {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out
}
