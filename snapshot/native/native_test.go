package native

import (
	"context"
	"os"
	"testing"

	"berth/snapshot"
	"berth/snapshot/snapshottest"
)

func newTest(t *testing.T, root string) snapshot.Snapshotter {
	t.Helper()
	s, err := New(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to bind mount")
	}
	snapshottest.Run(t, newTest)
}

func newBench(b *testing.B, root string) snapshot.Snapshotter {
	b.Helper()
	s, err := New(context.Background(), root)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkMount50Layers: Prepare (a full copy) and bind mount a container
// rootfs over a 50-layer chain.
func BenchmarkMount50Layers(b *testing.B) {
	snapshottest.BenchmarkMount(b, newBench, snapshot.Mounter{}, 50)
}

// BenchmarkDisk50Containers: disk used by 50 containers on one 20 MB image.
func BenchmarkDisk50Containers(b *testing.B) {
	snapshottest.BenchmarkDisk(b, newBench, 50, 20)
}

func TestKill9(t *testing.T) {
	snapshottest.RunKill9(t, newTest)
}
