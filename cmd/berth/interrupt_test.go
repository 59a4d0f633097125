package main

import (
	"context"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestInterruptContextCancelledBySignal: once asked for Done, the context
// takes its signal and is cancelled by it.
func TestInterruptContextCancelledBySignal(t *testing.T) {
	ctx, stop := newInterruptContext(context.Background(), unix.SIGUSR2)
	defer stop()
	done := ctx.Done()
	if err := unix.Kill(os.Getpid(), unix.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("not cancelled by SIGUSR2")
	}
}

// TestInterruptContextTakesSignalsWhenAsked: nothing is taken until Done
// is asked for, directly or by a derived context.
func TestInterruptContextTakesSignalsWhenAsked(t *testing.T) {
	ctx, stop := newInterruptContext(context.Background(), unix.SIGUSR2)
	defer stop()
	if ctx.Err() != nil {
		t.Fatal("cancelled from the start")
	}
	if ctx.ch != nil {
		t.Fatal("signals taken before Done was asked for")
	}
	child, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if ctx.ch == nil {
		t.Fatal("a derived context did not take the signals")
	}
	stop()
	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the derived context was not cancelled by stop")
	}
}

// TestInterruptContextStopped: after stop, Done takes nothing and is
// closed.
func TestInterruptContextStopped(t *testing.T) {
	ctx, stop := newInterruptContext(context.Background(), unix.SIGUSR2)
	stop()
	select {
	case <-ctx.Done():
	default:
		t.Fatal("not cancelled by stop")
	}
	if ctx.ch != nil {
		t.Fatal("signals taken after stop")
	}
}
