package copier

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkCopyTree copies 300 files of 4 KiB in 10 directories (the
// lib/ of bench/build.sh) into a fresh destination each time.
func BenchmarkCopyTree(b *testing.B) {
	src := b.TempDir()
	buf := make([]byte, 4096)
	for i := 0; i < 300; i++ {
		rand.Read(buf)
		p := filepath.Join(src, "lib", fmt.Sprintf("d%d", i%10), fmt.Sprintf("f%d", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	base := b.TempDir()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst := filepath.Join(base, fmt.Sprint(i))
		if err := os.Mkdir(dst, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := Copy(context.Background(), src, []string{"lib"}, dst, "/app/lib/", Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
