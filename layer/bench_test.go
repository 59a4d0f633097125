package layer

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
)

// benchLayer is a ~50 MB layer shaped like a distribution image: many
// small files in a few hundred directories, some bigger ones.
func benchLayer(b *testing.B) []byte { return benchLayerT(b) }

func benchLayerT(b testing.TB) []byte {
	rng := rand.New(rand.NewSource(1))
	var es []ent
	for d := 0; d < 200; d++ {
		dir := fmt.Sprintf("usr/share/d%03d/", d)
		if d == 0 {
			es = append(es, dirE("usr/", 0o755), dirE("usr/share/", 0o755))
		}
		es = append(es, dirE(dir, 0o755))
		for f := 0; f < 50; f++ {
			body := make([]byte, 512+rng.Intn(7000))
			rng.Read(body)
			es = append(es, fileE(fmt.Sprintf("%sf%02d", dir, f), string(body), 0o644))
			if f%10 == 0 {
				es = append(es, symE(fmt.Sprintf("%sl%02d", dir, f), fmt.Sprintf("f%02d", f)))
			}
		}
	}
	es = append(es, dirE("usr/lib/", 0o755))
	for i := 0; i < 12; i++ {
		body := make([]byte, 1<<20)
		rng.Read(body)
		es = append(es, fileE(fmt.Sprintf("usr/lib/big%02d.so", i), string(body), 0o755))
	}
	return mkTar(b, es...)
}

// BenchmarkApply measures unpack throughput (MB/s of uncompressed tar)
// of a plain layer into a fresh directory, as a snapshotter does.
func BenchmarkApply(b *testing.B) {
	requireRoot(b)
	layer := benchLayer(b)
	for _, c := range []Compression{None, Gzip, Zstd} {
		var buf bytes.Buffer
		w, _ := CompressStream(&buf, c)
		w.Write(layer)
		w.Close()
		b.Run(c.String(), func(b *testing.B) {
			base := b.TempDir()
			b.SetBytes(int64(len(layer)))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				dir := filepath.Join(base, fmt.Sprint(i))
				if err := os.Mkdir(dir, 0o755); err != nil {
					b.Fatal(err)
				}
				if _, err := Apply(context.Background(), dir, bytes.NewReader(buf.Bytes()), ApplyOptions{Whiteouts: WhiteoutsOverlay}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				os.RemoveAll(dir)
				b.StartTimer()
			}
		})
	}
}
