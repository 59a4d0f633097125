package logs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// follower runs a following Read in the background and collects lines.
type follower struct {
	mu    sync.Mutex
	got   []rec
	count atomic.Int64
	done  chan error
}

func startFollow(t *testing.T, ctx context.Context, path string, o ReadOptions) *follower {
	t.Helper()
	o.Follow = true
	if o.PollInterval == 0 {
		o.PollInterval = 5 * time.Millisecond
	}
	f := &follower{done: make(chan error, 1)}
	go func() {
		f.done <- Read(ctx, path, o, func(s string, tm time.Time, line []byte) error {
			f.mu.Lock()
			f.got = append(f.got, rec{s, tm, string(line)})
			f.mu.Unlock()
			f.count.Add(1)
			return nil
		})
	}()
	return f
}

// wait waits for Read to return.
func (f *follower) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-f.done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("follow did not end")
		return nil
	}
}

// waitCount waits until n lines have arrived.
func (f *follower) waitCount(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for f.count.Load() < int64(n) {
		if time.Now().After(deadline) {
			t.Fatalf("got %d lines, waiting for %d", f.count.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func (f *follower) lines() []rec {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]rec(nil), f.got...)
}

// checkSequence checks the lines are "line from" ... "line to-1", once each, in order.
func checkSequence(t *testing.T, got []rec, from, to int) {
	t.Helper()
	if len(got) != to-from {
		t.Errorf("%d lines, want %d", len(got), to-from)
	}
	for i, r := range got {
		if want := fmt.Sprintf("line %d\n", from+i); r.Line != want {
			t.Fatalf("line %d is %q, want %q (lost or duplicated)", i, r.Line, want)
		}
	}
}

func TestFollowRotationStress(t *testing.T) {
	// A writer going flat out with rotation every few dozen lines; the
	// follower must see every line once, in order.
	p := newLog(t)
	w := newWriter(t, p, Options{MaxSize: 4096, MaxFiles: 200})
	var done atomic.Bool
	f := startFollow(t, context.Background(), p, ReadOptions{Tail: -1, StopWhen: done.Load})
	const n = 10000
	for i := range n {
		mustWrite(t, w, "stdout", fmt.Sprintf("line %d\n", i), t0)
		if i%100 == 0 {
			time.Sleep(100 * time.Microsecond)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	done.Store(true)
	if err := f.wait(t); err != nil {
		t.Fatal(err)
	}
	checkSequence(t, f.lines(), 0, n)
}

func TestFollowRotationPaced(t *testing.T) {
	// Each rotation happens while the follower is inside the previous
	// file: no line may be lost, MaxFiles 1 (unlink and create) included.
	for _, maxFiles := range []int{1, 2, 3} {
		t.Run(fmt.Sprint("maxfiles", maxFiles), func(t *testing.T) {
			p := newLog(t)
			w := newWriter(t, p, Options{MaxSize: 800, MaxFiles: maxFiles})
			writeLines(t, w, 0, 3) // before the follower starts
			var done atomic.Bool
			f := startFollow(t, context.Background(), p, ReadOptions{Tail: -1, StopWhen: done.Load})
			const batch, n = 4, 200
			for i := 3; i < n; i += batch {
				f.waitCount(t, i)
				writeLines(t, w, i, min(batch, n-i))
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			done.Store(true)
			if err := f.wait(t); err != nil {
				t.Fatal(err)
			}
			checkSequence(t, f.lines(), 0, n)
		})
	}
}

func TestFollowStopWhenDrains(t *testing.T) {
	p := newLog(t)
	w := newWriter(t, p, Options{})
	writeLines(t, w, 0, 10)
	// The container writes its last words and exits right after the
	// follower caught up, before it asks StopWhen: Read must still hand
	// them out.
	asked := 0
	stopWhen := func() bool {
		asked++
		writeLines(t, w, 10, 5)
		mustWrite(t, w, "stderr", "no newline at exit", t0)
		if err := w.Close(); err != nil {
			t.Error(err)
		}
		return true
	}
	f := startFollow(t, context.Background(), p, ReadOptions{Tail: -1, StopWhen: stopWhen, PollInterval: time.Hour})
	if err := f.wait(t); err != nil {
		t.Fatal(err)
	}
	got := f.lines()
	if asked != 1 {
		t.Errorf("StopWhen asked %d times", asked)
	}
	if len(got) != 16 || got[15].Line != "no newline at exit" || got[15].Stream != "stderr" {
		t.Fatalf("got %v", got)
	}
	checkSequence(t, got[:15], 0, 15)
}

func TestFollowStopWhen(t *testing.T) {
	p := newLog(t)
	w := newWriter(t, p, Options{})
	writeLines(t, w, 0, 10)
	var exited atomic.Bool
	f := startFollow(t, context.Background(), p, ReadOptions{Tail: 3, StopWhen: exited.Load})
	f.waitCount(t, 3)
	writeLines(t, w, 10, 5)
	f.waitCount(t, 8)
	writeLines(t, w, 15, 5)
	exited.Store(true) // lines 15-19 were written before: still handed out
	if err := f.wait(t); err != nil {
		t.Fatal(err)
	}
	checkSequence(t, f.lines(), 7, 20)
}

func TestFollowCancel(t *testing.T) {
	p := newLog(t)
	w := newWriter(t, p, Options{})
	writeLines(t, w, 0, 2)
	ctx, cancel := context.WithCancel(context.Background())
	f := startFollow(t, ctx, p, ReadOptions{Tail: -1})
	f.waitCount(t, 2)
	cancel()
	if err := f.wait(t); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
}

func TestFollowUntilPast(t *testing.T) {
	p := newLog(t)
	w := newWriter(t, p, Options{})
	writeLines(t, w, 0, 5)
	f := startFollow(t, context.Background(), p, ReadOptions{Tail: -1, Until: t0.Add(2 * time.Second)})
	if err := f.wait(t); err != nil {
		t.Fatal(err)
	}
	checkSequence(t, f.lines(), 0, 3)
}

func TestFollowFileAppears(t *testing.T) {
	p := newLog(t)
	var done atomic.Bool
	f := startFollow(t, context.Background(), p, ReadOptions{Tail: -1, StopWhen: done.Load})
	time.Sleep(20 * time.Millisecond)
	w := newWriter(t, p, Options{})
	writeLines(t, w, 0, 5)
	f.waitCount(t, 5)
	done.Store(true)
	if err := f.wait(t); err != nil {
		t.Fatal(err)
	}
	checkSequence(t, f.lines(), 0, 5)
}

func TestFollowTornWrite(t *testing.T) {
	// An entry reaches the file in two writes: the follower waits for its
	// end instead of skipping half of it.
	p := newLog(t)
	raw := appendEntry(nil, "stdout", []byte("line 0\n"), t0)
	raw = appendEntry(raw, "stdout", []byte("line 1\n"), t0)
	half := len(raw) - 20
	if err := os.WriteFile(p, raw[:half], 0o640); err != nil {
		t.Fatal(err)
	}
	var done atomic.Bool
	for _, tail := range []int{-1, 5} {
		done.Store(false)
		f := startFollow(t, context.Background(), p, ReadOptions{Tail: tail, StopWhen: done.Load})
		f.waitCount(t, 1)
		time.Sleep(20 * time.Millisecond)
		fh, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fh.Write(raw[half:]); err != nil {
			t.Fatal(err)
		}
		fh.Close()
		f.waitCount(t, 2)
		done.Store(true)
		if err := f.wait(t); err != nil {
			t.Fatal(err)
		}
		checkSequence(t, f.lines(), 0, 2)
		if err := os.WriteFile(p, raw[:half], 0o640); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFollowTruncatedInPlace(t *testing.T) {
	p := newLog(t)
	w := newWriter(t, p, Options{})
	writeLines(t, w, 0, 5)
	var done atomic.Bool
	f := startFollow(t, context.Background(), p, ReadOptions{Tail: -1, StopWhen: done.Load})
	f.waitCount(t, 5)
	w.Close()
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // let the follower see the shrink
	w2 := newWriter(t, p, Options{})
	writeLines(t, w2, 5, 2)
	f.waitCount(t, 7)
	done.Store(true)
	if err := f.wait(t); err != nil {
		t.Fatal(err)
	}
	checkSequence(t, f.lines(), 0, 7)
}
