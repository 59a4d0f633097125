package image

import (
	"archive/tar"
	"context"
	"testing"

	"berth/snapshot"
)

// recordWatch is a snapshotter that notes, when a rootfs snapshot is made
// or removed, whether images.db records that rootfs: a process killed
// between the two writes must leave the record (rmi then refuses the
// image), never a snapshot without one.
type recordWatch struct {
	snapshot.Snapshotter
	s                       *Store
	atPrepare, afterRemove  bool
	preparedKey, removedKey string
}

func (w *recordWatch) recorded(key string) bool {
	all, err := w.s.Rootfses(context.Background())
	if err != nil {
		return false
	}
	for _, r := range all {
		if r.Key == key {
			return true
		}
	}
	return false
}

func (w *recordWatch) Prepare(ctx context.Context, key, parent string, opts ...snapshot.Opt) ([]snapshot.Mount, error) {
	w.preparedKey, w.atPrepare = key, w.recorded(key)
	return w.Snapshotter.Prepare(ctx, key, parent, opts...)
}

func (w *recordWatch) Remove(ctx context.Context, key string) error {
	err := w.Snapshotter.Remove(ctx, key)
	if key == "ctr1" {
		w.removedKey, w.afterRemove = key, w.recorded(key)
	}
	return err
}

func TestRootfsRecordOutlivesSnapshot(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	s := openStore(t, "native")
	img := testImage(t, s, "example/order", makeTar(t, tarEntry{name: "etc/", typ: tar.TypeDir}))
	if _, err := s.Unpack(ctx, img); err != nil {
		t.Fatal(err)
	}
	w := &recordWatch{Snapshotter: s.snaps, s: s}
	s.snaps = w
	if _, err := s.PrepareRootfs(ctx, "ctr1", img); err != nil {
		t.Fatal(err)
	}
	if w.preparedKey != "ctr1" || !w.atPrepare {
		t.Fatalf("snapshot %q made before its rootfs record was written (recorded: %v)", w.preparedKey, w.atPrepare)
	}
	if err := s.RemoveRootfs(ctx, "ctr1"); err != nil {
		t.Fatal(err)
	}
	if w.removedKey != "ctr1" || !w.afterRemove {
		t.Fatalf("rootfs record of %q gone before its snapshot (recorded after the snapshot's removal: %v)", w.removedKey, w.afterRemove)
	}
	if w.recorded("ctr1") {
		t.Fatal("rootfs record left after RemoveRootfs")
	}
}
