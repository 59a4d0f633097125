package snapshottest

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"berth/snapshot"
	"berth/snapshot/internal/fsutil"
)

// BenchNewFunc opens a snapshotter in root for a benchmark.
type BenchNewFunc func(b *testing.B, root string) snapshot.Snapshotter

func benchLayer(b *testing.B, s snapshot.Snapshotter, name, parent string, write func(dir string) error) {
	b.Helper()
	ctx := context.Background()
	ms, err := s.Prepare(ctx, name+"-extract", parent)
	if err != nil {
		b.Fatal(err)
	}
	dir := ms[0].Source
	if ms[0].Type == "overlay" {
		dir = ms[0].UpperDir()
	}
	if err := write(dir); err != nil {
		b.Fatal(err)
	}
	if err := s.Commit(ctx, name, name+"-extract"); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkMount times what starting a container on an image of n layers
// costs the snapshotter: Prepare of its rootfs and mounting it (unmount
// and removal are not timed). Each layer adds a directory of 20 files of
// 4 KiB. mr chooses the overlay mount path.
func BenchmarkMount(b *testing.B, newS BenchNewFunc, mr snapshot.Mounter, n int) {
	if os.Geteuid() != 0 {
		b.Skip("needs root to mount")
	}
	ctx := context.Background()
	s := newS(b, b.TempDir())
	parent := ""
	buf := make([]byte, 4096)
	for i := range n {
		name := fmt.Sprintf("layer-%d", i)
		benchLayer(b, s, name, parent, func(dir string) error {
			d := filepath.Join(dir, fmt.Sprintf("d%d", i))
			if err := os.Mkdir(d, 0o755); err != nil {
				return err
			}
			for j := range 20 {
				if err := os.WriteFile(filepath.Join(d, fmt.Sprint(j)), buf, 0o644); err != nil {
					return err
				}
			}
			return nil
		})
		parent = name
	}
	target := b.TempDir()
	var prepare, mount time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		key := fmt.Sprintf("c%d", i)
		t0 := time.Now()
		ms, err := s.Prepare(ctx, key, parent)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := mr.MountAll(ms, target); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		prepare += t1.Sub(t0)
		mount += time.Since(t1)
		if _, err := os.Stat(filepath.Join(target, "d0", "19")); err != nil {
			b.Fatal(err)
		}
		if err := snapshot.Unmount(target); err != nil {
			b.Fatal(err)
		}
		if err := s.Remove(ctx, key); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	// Prepare is mostly the metadata transaction's fsync for overlay and
	// the copy for native; the mount itself is reported apart.
	b.ReportMetric(float64(prepare.Microseconds())/float64(b.N), "prepare-us/op")
	b.ReportMetric(float64(mount.Microseconds())/float64(b.N), "mount-us/op")
}

// BenchmarkDisk measures the disk that containers active snapshots over
// one committed tree of sizeMB megabytes take, each container having
// written nothing yet. It reports "MB-total": every snapshot directory
// under the root, hard links counted once.
func BenchmarkDisk(b *testing.B, newS BenchNewFunc, containers, sizeMB int) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	ctx := context.Background()
	var total float64
	for i := 0; i < b.N; i++ {
		root := b.TempDir()
		s := newS(b, root)
		benchLayer(b, s, "image", "", func(dir string) error {
			data := make([]byte, 1<<20)
			for j := range sizeMB {
				_, _ = rand.Read(data)
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("blob%d", j)), data, 0o644); err != nil {
					return err
				}
			}
			return nil
		})
		for c := range containers {
			if _, err := s.Prepare(ctx, fmt.Sprintf("c%d", c), "image"); err != nil {
				b.Fatal(err)
			}
		}
		size, _, err := fsutil.DiskUsage(ctx, root)
		if err != nil {
			b.Fatal(err)
		}
		total = float64(size) / (1 << 20)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(total, "MB-total")
}
