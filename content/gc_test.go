package content

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// digestT shortens live-set closures in tests.
type digestT = digest.Digest

func TestSweepRemovesOnlyDead(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	live := map[digest.Digest]bool{}
	var dead []digest.Digest
	for i := range 10 {
		desc, err := s.WriteBlob(ctx, "x", []byte(fmt.Sprint("blob ", i)))
		if err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			live[desc.Digest] = true
		} else {
			dead = append(dead, desc.Digest)
		}
	}
	// A partial write is never swept.
	data := testData(40, 1000)
	w, err := s.Writer(ctx, "pull", descOf(data))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data[:500])
	removed, err := s.Sweep(ctx, func(d digest.Digest) bool { return live[d] })
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != len(dead) {
		t.Fatalf("removed %d blobs, want %d", len(removed), len(dead))
	}
	for d := range live {
		if !s.Exists(d) {
			t.Errorf("live blob %s swept", d)
		}
	}
	for _, d := range dead {
		if s.Exists(d) {
			t.Errorf("dead blob %s kept", d)
		}
	}
	w.Write(data[500:])
	if _, err := w.Commit(ctx); err != nil {
		t.Fatalf("commit after a sweep: %v", err)
	}
	assertClean(t, s)
}

func TestSweepWaitsForHold(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	release, err := s.Hold(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Written under the hold, not yet referenced: must survive.
	desc, err := s.WriteBlob(ctx, "x", []byte("new layer"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Sweep(ctx, func(digest.Digest) bool { return false })
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Sweep ran under a hold: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if !s.Exists(desc.Digest) {
		t.Fatal("swept under a hold")
	}
	release()
	release() // idempotent
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s.Exists(desc.Digest) {
		t.Fatal("not swept after release")
	}
	// Holds are shared: two at once, and Hold waits for a Sweep.
	r1, err := s.Hold(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := s.Hold(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r1()
	r2()
	lock, err := s.lockStore(ctx, unix.LOCK_EX)
	if err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := s.Hold(tctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Hold during a sweep: %v", err)
	}
	lock.Close()
}
