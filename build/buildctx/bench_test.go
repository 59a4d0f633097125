package buildctx

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// benchTree writes n files of size bytes (random) plus one big file.
func benchTree(b *testing.B, n, size, big int) string {
	b.Helper()
	dir := b.TempDir()
	buf := make([]byte, size)
	for i := 0; i < n; i++ {
		rand.Read(buf)
		p := filepath.Join(dir, "lib", fmt.Sprintf("d%d", i%10), fmt.Sprintf("f%d", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	bigBuf := make([]byte, big)
	rand.Read(bigBuf)
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), bigBuf, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkHash hashes 300 files of 4 KiB and a 3 MiB file (the
// bench/build.sh context): "fresh" with a new Context each time (a build's
// first COPY), "cached" with the per-build cache warm (another stage
// copying the same files), "remembered" with a new Context each time
// whose SetHashCache holds the last build's digests (a warm rebuild).
func BenchmarkHash(b *testing.B) {
	dir := benchTree(b, 300, 4096, 3<<20)
	cacheDir := b.TempDir()
	for _, mode := range []string{"fresh", "cached", "remembered"} {
		b.Run(mode, func(b *testing.B) {
			c, err := Open(context.Background(), dir)
			if err != nil {
				b.Fatal(err)
			}
			srcs, err := c.Sources([]string{"lib", "big.bin"})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.Hash(srcs); err != nil {
				b.Fatal(err)
			}
			if mode == "remembered" {
				c.SetHashCache(cacheDir)
				c.Hash(srcs)
				c.cacheStart = time.Now().Add(time.Hour) // the files are new
				c.Close()
			}
			b.SetBytes(300*4096 + 3<<20)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				switch mode {
				case "fresh":
					b.StopTimer()
					c, _ = Open(context.Background(), dir)
					b.StartTimer()
				case "remembered":
					c, _ = Open(context.Background(), dir)
					c.SetHashCache(cacheDir)
				}
				if _, err := c.Hash(srcs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
