package content

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// BenchmarkIngest measures ingest throughput: write, hash, fsync, rename.
// Each iteration writes a distinct blob so none is deduplicated.
func BenchmarkIngest(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20, 64 << 20} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			ctx := context.Background()
			s := newStore(b)
			data := testData(70, size)
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				data[0], data[1], data[2] = byte(i), byte(i>>8), byte(i>>16)
				if _, err := s.Ingest(ctx, bytes.NewReader(data), ocispec.Descriptor{Size: int64(size)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReadBlob measures the verified read of a small blob (a manifest).
func BenchmarkReadBlob(b *testing.B) {
	ctx := context.Background()
	s := newStore(b)
	data := testData(71, 4<<10)
	desc, err := s.WriteBlob(ctx, "x", data)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := s.ReadBlob(desc.Digest, 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}
