package image

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// arcDirNames lists a directory's entries, sorted.
func arcDirNames(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// FuzzLoad feeds arbitrary bytes to Load as an archive: it must not
// panic, must not write outside its store, and whatever it loads must be
// a whole image.
func FuzzLoad(f *testing.F) {
	arcRequireRoot(f)
	ctx := context.Background()
	src, imgs := arcSource(f)
	docker := arcSave(f, src, imgs, SaveDocker)
	f.Add(docker)
	f.Add(arcSave(f, src, imgs[:1], SaveOCI))
	legacy, _, _ := arcLegacy(f)
	f.Add(legacy)
	f.Add(docker[:len(docker)/3])
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(legacy)
	zw.Close()
	f.Add(gz.Bytes())
	f.Add(arcWithConfig(f, []byte(`{"rootfs":{"type":"layers"}}`)))
	f.Add([]byte{})

	watch := f.TempDir()
	root := filepath.Join(watch, "store")
	dst, err := Open(ctx, root, Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { dst.Close() })
	// The first transaction makes the database (images.db).
	if _, err := dst.List(ctx); err != nil {
		f.Fatal(err)
	}
	wantWatch, wantRoot := fmt.Sprint(arcDirNames(f, watch)), fmt.Sprint(arcDirNames(f, root))

	f.Fuzz(func(t *testing.T, b []byte) {
		loaded, err := dst.Load(ctx, bytes.NewReader(b))
		if err == nil {
			for _, img := range loaded {
				m, _, err := dst.Manifest(ctx, img)
				if err != nil {
					t.Fatalf("loaded %s, but its manifest: %v", img.Target.Digest, err)
				}
				if _, err := dst.Config(ctx, m); err != nil {
					t.Fatalf("loaded %s, but its config: %v", img.Target.Digest, err)
				}
			}
		}
		if got := fmt.Sprint(arcDirNames(t, watch)); got != wantWatch {
			t.Fatalf("Load wrote beside its store: %s", got)
		}
		if got := fmt.Sprint(arcDirNames(t, root)); got != wantRoot {
			t.Fatalf("Load wrote into the store root: %s, want %s", got, wantRoot)
		}
	})
}
