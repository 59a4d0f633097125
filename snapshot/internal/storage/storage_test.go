package storage

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"berth/snapshot"
)

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "metadata.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func nop(string) error { return nil }

func TestCreatePublishFails(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	boom := errors.New("boom")
	undone := false
	_, err := s.Create(ctx, snapshot.KindActive, "a", "", "", nil,
		func(string) error { return boom }, func(string) { undone = true })
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	if undone {
		t.Error("undo ran for a publish that failed itself")
	}
	if _, err := s.Get(ctx, "a"); !errors.Is(err, snapshot.ErrNotFound) {
		t.Errorf("record kept after failed publish: %v", err)
	}
}

func TestParentReplaced(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	if _, err := s.Create(ctx, snapshot.KindActive, "p-a", "", "", nil, nop, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(ctx, "p", "p-a", nil); err != nil {
		t.Fatal(err)
	}
	parents, err := s.Parents(ctx, "c", "p")
	if err != nil {
		t.Fatal(err)
	}
	// p is removed and made again while c was being filled from the old p.
	if _, err := s.Remove(ctx, "p", func(Record) error { return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, snapshot.KindActive, "p-b", "", "", nil, nop, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(ctx, "p", "p-b", nil); err != nil {
		t.Fatal(err)
	}
	_, err = s.Create(ctx, snapshot.KindActive, "c", "p", parents[0].ID, nil, nop, nil)
	if !errors.Is(err, snapshot.ErrNotFound) {
		t.Errorf("create on a replaced parent: %v", err)
	}
}

func TestRemoveUndo(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	if _, err := s.Create(ctx, snapshot.KindActive, "a", "", "", nil, nop, nil); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if _, err := s.Remove(ctx, "a", func(Record) error { return boom }, nil); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	if _, err := s.Get(ctx, "a"); err != nil {
		t.Errorf("record lost after failed remove: %v", err)
	}
}

func TestCorruptRecord(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	err := s.update(func(tx *bolt.Tx) error {
		return bucket(tx, bucketSnapshots).Put([]byte("bad"), []byte("{not json"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "bad"); err == nil {
		t.Error("corrupt record read")
	}
	if err := s.Walk(ctx, func(Record) error { return nil }); err == nil {
		t.Error("walk over a corrupt record succeeded")
	}
}

// TestTwoProcessesShare: two stores on one file (two berth processes) both
// work, one after the other's transaction, not after its lifetime.
func TestTwoProcessesShare(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "metadata.db")
	a, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(path, 50*time.Millisecond)
	if err != nil {
		t.Fatalf("second open while the first is open: %v", err)
	}
	defer b.Close()
	if _, err := a.Create(ctx, snapshot.KindActive, "k", "", "", nil, func(string) error { return nil }, func(string) {}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, "k"); err != nil {
		t.Errorf("the other store does not see the record: %v", err)
	}
}
