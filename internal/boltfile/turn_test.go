package boltfile

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestTakeTurn: a shared turn needs the file, an exclusive one makes it;
// readers share, a writer excludes both, a wait ends within
// a few milliseconds of the release, and one past the timeout is bbolt's
// ErrTimeout.
func TestTakeTurn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	if _, err := takeTurn(path, false, time.Second); err == nil {
		t.Fatal("a shared turn on a missing file was taken")
	}
	w0, err := takeTurn(path, true, time.Second) // creates it
	if err != nil {
		t.Fatal(err)
	}
	w0()
	r1, err := takeTurn(path, false, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := takeTurn(path, false, time.Second)
	if err != nil {
		t.Fatalf("second reader: %v", err)
	}
	if _, err := takeTurn(path, true, 20*time.Millisecond); !errors.Is(err, bolt.ErrTimeout) {
		t.Fatalf("writer while read: %v", err)
	}
	r1()
	released := make(chan time.Time, 1)
	go func() {
		time.Sleep(30 * time.Millisecond)
		released <- time.Now()
		r2()
	}()
	w, err := takeTurn(path, true, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(<-released); d > 20*time.Millisecond {
		t.Errorf("the writer got its turn %v after the release", d)
	}
	w()
}
