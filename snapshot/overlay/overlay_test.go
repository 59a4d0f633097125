package overlay

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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
		t.Skip("needs root to mount overlay")
	}
	if err := Check(context.Background(), t.TempDir()); err != nil {
		t.Skipf("overlay does not mount here: %v", err)
	}
	snapshottest.Run(t, newTest)
}

func TestCheck(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount overlay")
	}
	root := t.TempDir()
	if err := Check(context.Background(), root); err != nil {
		t.Fatalf("overlay check on %s: %v", root, err)
	}
	ents, _ := os.ReadDir(root)
	if len(ents) != 0 {
		t.Errorf("check left %d entries behind", len(ents))
	}
}

func TestRootWithSeparators(t *testing.T) {
	for _, r := range []string{"a,b", "a:b"} {
		if _, err := New(context.Background(), filepath.Join(t.TempDir(), r)); err == nil {
			t.Errorf("root %q accepted", r)
		}
	}
}

func TestMountsShape(t *testing.T) {
	ctx := context.Background()
	s := newTest(t, t.TempDir()).(*Snapshotter)
	ms, err := s.Prepare(ctx, "a", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Type != "bind" {
		t.Fatalf("first layer: %+v, want one bind mount", ms)
	}
	if err := s.Commit(ctx, "A", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prepare(ctx, "b", "A"); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, "B", "b"); err != nil {
		t.Fatal(err)
	}
	ms, err = s.Prepare(ctx, "c", "B")
	if err != nil {
		t.Fatal(err)
	}
	if ms[0].Type != "overlay" || len(ms[0].LowerDirs()) != 2 || ms[0].UpperDir() == "" {
		t.Fatalf("on two layers: %+v", ms)
	}
	// Lowers are short links into <root>/l, top layer first.
	for _, l := range ms[0].LowerDirs() {
		if filepath.Dir(l) != filepath.Join(s.b.Root(), "l") || len(filepath.Base(l)) != linkLen {
			t.Errorf("lower %s is not a short link", l)
		}
	}
	top, err := filepath.EvalSymlinks(ms[0].LowerDirs()[0])
	if err != nil {
		t.Fatal(err)
	}
	rec, err := s.b.Get(ctx, "B")
	if err != nil {
		t.Fatal(err)
	}
	if top != s.fsDir(rec.ID) {
		t.Errorf("first lower is %s, want B's %s", top, s.fsDir(rec.ID))
	}
	ms, err = s.View(ctx, "v", "B")
	if err != nil {
		t.Fatal(err)
	}
	if ms[0].Type != "overlay" || ms[0].UpperDir() != "" {
		t.Errorf("view of two layers: %+v", ms)
	}
}

// TestCleanupLinks: a link whose snapshot is gone (a kill -9 between the
// link and the record) is removed; live links stay.
func TestCleanupLinks(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s := newTest(t, root).(*Snapshotter)
	if _, err := s.Prepare(ctx, "a-active", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, "a", "a-active"); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(root, "l", "STALE0")
	if err := os.Symlink("../snapshots/4242/fs", stale); err != nil {
		t.Fatal(err)
	}
	if err := s.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(stale); !os.IsNotExist(err) {
		t.Errorf("stale link kept: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Join(root, "l"))
	if len(ents) != 1 {
		t.Errorf("%d links after cleanup, want a's one", len(ents))
	}
	if err := s.Remove(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	ents, _ = os.ReadDir(filepath.Join(root, "l"))
	if len(ents) != 0 {
		t.Errorf("remove left %d links", len(ents))
	}
}

// TestTooManyLayers: a chain of MaxLayers layers still mounts (with an
// upper directory on top); one deeper is refused at Prepare with
// ErrTooManyLayers rather than failing at mount time.
func TestTooManyLayers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount overlay")
	}
	if testing.Short() {
		t.Skip("builds a 500-layer chain")
	}
	ctx := context.Background()
	s := newTest(t, t.TempDir())
	parent := ""
	for i := range snapshot.MaxLayers {
		key := "layer-" + strconv.Itoa(i)
		if _, err := s.Prepare(ctx, key+"-extract", parent); err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
		if err := s.Commit(ctx, key, key+"-extract"); err != nil {
			t.Fatal(err)
		}
		parent = key
	}
	for _, mr := range []snapshot.Mounter{{}, {LegacyOverlay: true}} {
		ms, err := s.Prepare(ctx, "top-"+strconv.FormatBool(mr.LegacyOverlay), parent)
		if err != nil {
			t.Fatalf("prepare on %d layers: %v", snapshot.MaxLayers, err)
		}
		target := t.TempDir()
		if err := mr.MountAll(ms, target); err != nil {
			t.Fatalf("mount %d layers (legacy %v): %v", snapshot.MaxLayers, mr.LegacyOverlay, err)
		}
		if err := snapshot.Unmount(target); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Commit(ctx, "deepest", "top-false"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Prepare(ctx, "too-deep", "deepest")
	if !errors.Is(err, snapshot.ErrTooManyLayers) {
		t.Errorf("prepare on %d layers: %v, want ErrTooManyLayers", snapshot.MaxLayers+1, err)
	}
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

// BenchmarkMount50Layers: Prepare and mount a container rootfs over a
// 50-layer chain, with the new mount API and with mount(2).
func BenchmarkMount50Layers(b *testing.B) {
	b.Run("newapi", func(b *testing.B) { snapshottest.BenchmarkMount(b, newBench, snapshot.Mounter{}, 50) })
	b.Run("legacy", func(b *testing.B) {
		snapshottest.BenchmarkMount(b, newBench, snapshot.Mounter{LegacyOverlay: true}, 50)
	})
}

// BenchmarkDisk50Containers: disk used by 50 containers on one 20 MB image.
func BenchmarkDisk50Containers(b *testing.B) {
	snapshottest.BenchmarkDisk(b, newBench, 50, 20)
}

func TestKill9(t *testing.T) {
	snapshottest.RunKill9(t, newTest)
}

// TestLinkOnCommit: an active snapshot has no short link (a container's
// rootfs never is a parent); its commit makes one, which its children's
// lowerdir then names.
func TestLinkOnCommit(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s := newTest(t, root).(*Snapshotter)
	if _, err := s.Prepare(ctx, "base-active", ""); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "l")); len(ents) != 0 {
		t.Fatalf("active snapshot has %d short links, want none", len(ents))
	}
	if err := s.Commit(ctx, "base", "base-active"); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(root, "l"))
	if len(ents) != 1 {
		t.Fatalf("committed snapshot has %d short links, want 1", len(ents))
	}
	rec, err := s.b.Get(ctx, "base")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := filepath.EvalSymlinks(filepath.Join(root, "l", ents[0].Name())); err != nil || got != s.fsDir(rec.ID) {
		t.Errorf("link resolves to %s (%v), want %s", got, err, s.fsDir(rec.ID))
	}
	ms, err := s.Prepare(ctx, "child", "base")
	if err != nil {
		t.Fatal(err)
	}
	want := "lowerdir=" + filepath.Join(root, "l", ents[0].Name())
	if ms[0].Type != "overlay" || !slices.Contains(ms[0].Options, want) {
		t.Errorf("child's mount %+v, want option %s", ms[0], want)
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "l")); len(ents) != 1 {
		t.Errorf("%d short links after the child's prepare, want 1", len(ents))
	}
}
