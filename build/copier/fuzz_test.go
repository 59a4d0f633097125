package copier

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// FuzzExtract feeds arbitrary bytes to ADD's archive extraction into a
// directory of a root holding links out: no panic, and nothing written
// outside the root.
func FuzzExtract(f *testing.F) {
	f.Add([]byte("not a tar"))
	if b, err := os.ReadFile("testdata/arch.tar.xz"); err == nil {
		f.Add(b)
	}
	if b, err := os.ReadFile("testdata/arch.tar.bz2"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 8<<10 {
			return // compressed inputs expand a lot; size is not tested here
		}
		base := t.TempDir()
		root := filepath.Join(base, "root")
		if err := os.MkdirAll(filepath.Join(root, "app"), 0o755); err != nil {
			t.Fatal(err)
		}
		os.Symlink(base, filepath.Join(root, "app", "up"))
		fd, err := unix.Open(filepath.Join(root, "app"), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		Extract(context.Background(), bytes.NewReader(data), fd)
		ents, _ := os.ReadDir(base)
		if len(ents) != 1 {
			t.Fatalf("extraction wrote beside the root: %d entries", len(ents))
		}
	})
}

// FuzzCopyDest copies a file to arbitrary destinations in a root full
// of links out: no panic, and the outside directory never changes.
func FuzzCopyDest(f *testing.F) {
	for _, s := range []string{"/abs/x", "climb/", "../../../x", "/victimlink", "dotdot/dotdot/f", "loop/x", ".", "/", "a/b/c/"} {
		f.Add(s, "/wd")
	}
	src := f.TempDir()
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("payload"), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, dest, workdir string) {
		if os.Geteuid() != 0 {
			t.Skip("needs root")
		}
		dst, outside := hostileRoot(t)
		Copy(context.Background(), src, []string{"f"}, dst, dest, Options{Workdir: workdir})
		outsideUnchanged(t, outside)
	})
}
