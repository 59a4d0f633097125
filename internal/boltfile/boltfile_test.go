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
