package image

import (
	"archive/tar"
	"context"
	"errors"
	"testing"

	bolt "go.etcd.io/bbolt"

	"berth/snapshot"
)

// TestRootfsRecordIsTheSnapshot: a rootfs snapshot carries its record
// (the image's name and ID) as labels, made and removed in one
// transaction with it, so rmi sees it exactly while it exists; images.db
// gets no write. The records an older berth kept in images.db are still
// listed, once per key, and go with RemoveRootfs.
func TestRootfsRecordIsTheSnapshot(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	s := openStore(t, "native")
	img := testImage(t, s, "example/record", makeTar(t, tarEntry{name: "etc/", typ: tar.TypeDir}))
	top, err := s.Unpack(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.ID(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PrepareRootfs(ctx, "ctr1", img); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PrepareRootfs(ctx, "ctr1", img); !errors.Is(err, snapshot.ErrExists) {
		t.Errorf("a second rootfs ctr1: %v, want ErrExists", err)
	}
	if n := oldRecords(t, s); n != 0 {
		t.Errorf("images.db has %d rootfs records, want none", n)
	}
	// An older berth's rootfs: a snapshot without labels and its record.
	if _, err := s.snaps.Prepare(ctx, "old1", top.String()); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"old1", "ctr1"} { // ctr1: recorded both ways
		if err := s.meta.update(func(tx *bolt.Tx) error {
			return putJSON(tx, bucketRootfs, k, rootfsRecord{Image: "example/record:old", ImageID: id.String()})
		}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.Rootfses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Key != "ctr1" || all[1].Key != "old1" {
		t.Fatalf("Rootfses: %+v, want ctr1 and old1 once each", all)
	}
	if all[0].Image != img.Name.String() || all[0].ImageID != id.String() || all[0].Created.IsZero() {
		t.Errorf("ctr1's record: %+v, want image %s, ID %s and a time", all[0], img.Name, id)
	}
	if all[1].Image != "example/record:old" || all[1].ImageID != id.String() {
		t.Errorf("old1's record: %+v", all[1])
	}
	if _, err := s.Remove(ctx, img.Name.String(), RemoveOptions{}); !errors.Is(err, ErrInUse) {
		t.Errorf("rmi of the image in use: %v, want ErrInUse", err)
	}
	for _, k := range []string{"ctr1", "old1"} {
		if err := s.RemoveRootfs(ctx, k); err != nil {
			t.Fatal(err)
		}
		if _, err := s.snaps.Stat(ctx, k); !errors.Is(err, snapshot.ErrNotFound) {
			t.Errorf("snapshot %s after RemoveRootfs: %v", k, err)
		}
	}
	if all, err := s.Rootfses(ctx); err != nil || len(all) != 0 {
		t.Errorf("Rootfses after their removal: %+v, %v", all, err)
	}
	if n := oldRecords(t, s); n != 0 {
		t.Errorf("images.db keeps %d rootfs records after their removal", n)
	}
}

// oldRecords counts images.db's rootfs records.
func oldRecords(t *testing.T, s *Store) int {
	t.Helper()
	n := 0
	if err := s.meta.view(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketRootfs).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}
