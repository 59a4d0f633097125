package boltfile

import (
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestInitWritesOnlyWhenNeeded checks that Init creates the file and its
// buckets, adds a missing bucket later, and leaves a complete file alone
// (no write transaction: the transaction id stays).
func TestInitWritesOnlyWhenNeeded(t *testing.T) {
	f := File{Path: filepath.Join(t.TempDir(), "x.db")}
	if err := f.Init([]byte("a")); err != nil {
		t.Fatal(err)
	}
	txid := func() int {
		var id int
		if err := f.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil }); err != nil {
			t.Fatal(err)
		}
		return id
	}
	before := txid()
	if err := f.Init([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if after := txid(); after != before {
		t.Fatalf("Init of a complete file wrote a transaction (txid %d -> %d)", before, after)
	}
	if err := f.Init([]byte("a"), []byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := f.View(func(tx *bolt.Tx) error {
		if tx.Bucket([]byte("a")) == nil || tx.Bucket([]byte("b")) == nil {
			t.Fatal("bucket missing after Init")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// An empty file (a creator killed before its first write) is set up,
	// not an error.
	empty := File{Path: filepath.Join(t.TempDir(), "empty.db")}
	if err := os.WriteFile(empty.Path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := empty.Init([]byte("a")); err != nil {
		t.Fatal(err)
	}
}

// TestBucketsOnFirstTransaction: with Buckets set, nothing is made before
// the first transaction; a View on no file (or on a file missing a
// bucket) makes the file and buckets first, and an Update makes them in
// its own transaction; a View of a complete file writes nothing.
func TestBucketsOnFirstTransaction(t *testing.T) {
	dir := t.TempDir()
	f := File{Path: filepath.Join(dir, "x.db"), Buckets: [][]byte{[]byte("a"), []byte("b")}}
	both := func(tx *bolt.Tx) error {
		if tx.Bucket([]byte("a")) == nil || tx.Bucket([]byte("b")) == nil {
			t.Fatal("bucket missing")
		}
		return nil
	}
	if err := f.View(both); err != nil {
		t.Fatal(err)
	}
	var id int
	if err := f.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := f.View(func(tx *bolt.Tx) error {
		if tx.ID() != id {
			t.Errorf("a View of a complete file wrote (txid %d -> %d)", id, tx.ID())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// A bucket added later (a newer berth): made on first use.
	f.Buckets = append(f.Buckets, []byte("c"))
	if err := f.View(func(tx *bolt.Tx) error {
		if tx.Bucket([]byte("c")) == nil {
			t.Fatal("new bucket missing")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// An Update on no file, and on an empty one (a creator killed before
	// its first write).
	for _, name := range []string{"u.db", "empty.db"} {
		g := File{Path: filepath.Join(dir, name), Buckets: [][]byte{[]byte("a"), []byte("b")}}
		if name == "empty.db" {
			if err := os.WriteFile(g.Path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := g.View(both); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			continue
		}
		if err := g.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("a")).Put([]byte("k"), []byte("v")) }); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := g.View(both); err != nil {
			t.Fatal(err)
		}
	}
	// An error of fn is the View's.
	if err := f.View(func(*bolt.Tx) error { return os.ErrInvalid }); err != os.ErrInvalid {
		t.Errorf("fn's error: %v", err)
	}
}
