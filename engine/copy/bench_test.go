package copy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// benchTree makes 20 directories of 50 files of 4 KiB (4 MiB in all).
func benchTree(b *testing.B) string {
	b.Helper()
	rootfs := b.TempDir()
	body := bytes.Repeat([]byte("x"), 4096)
	for i := range 20 {
		d := filepath.Join(rootfs, "data", fmt.Sprintf("d%02d", i))
		must(b, os.MkdirAll(d, 0o755))
		for j := range 50 {
			must(b, os.WriteFile(filepath.Join(d, fmt.Sprintf("f%02d", j)), body, 0o644))
		}
	}
	return rootfs
}

func BenchmarkFromContainer(b *testing.B) {
	rootfs := benchTree(b)
	ctx := context.Background()
	b.SetBytes(20 * 50 * 4096)
	for b.Loop() {
		if _, err := FromContainer(ctx, rootfs, "/data", io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkToContainer(b *testing.B) {
	requireRoot(b)
	rootfs := benchTree(b)
	ctx := context.Background()
	var buf bytes.Buffer
	st, err := FromContainer(ctx, rootfs, "/data", &buf)
	must(b, err)
	src := st.Source()
	dst := b.TempDir()
	b.SetBytes(20 * 50 * 4096)
	for i := 0; b.Loop(); i++ {
		dir := fmt.Sprintf("/c%d", i)
		if err := ToContainer(ctx, dst, dir, bytes.NewReader(buf.Bytes()), ToOptions{Source: &src}); err != nil {
			b.Fatal(err)
		}
	}
}
