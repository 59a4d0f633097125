package content

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// tryLock takes flock(2) how (LOCK_SH or LOCK_EX) on f without waiting;
// false means another open file, in this process or another, holds a
// conflicting lock. flock locks belong to the open file, not the process,
// so two Holds in one process are two shared locks, as between processes.
func tryLock(f *os.File, how int) (bool, error) {
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, unix.EWOULDBLOCK):
			return false, nil
		case errors.Is(err, unix.EINTR):
			continue
		default:
			return false, fmt.Errorf("flock %s: %w", f.Name(), err)
		}
	}
}

// lockWait takes flock how on f, polling until it is free or ctx ends.
// Polling rather than a blocking flock keeps the wait cancellable.
func lockWait(ctx context.Context, f *os.File, how int) error {
	delay := 2 * time.Millisecond
	for {
		ok, err := tryLock(f, how)
		if err != nil || ok {
			return err
		}
		if err := sleep(ctx, delay); err != nil {
			return err
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Hold takes a shared lock on the store and returns its release (safe to
// call more than once). While any Hold is active, in any process, Sweep
// waits: hold it from before the first blob is written (or found present)
// until the reference that keeps the blobs alive is recorded. Hold waits
// while a Sweep runs, until ctx ends.
func (s *Store) Hold(ctx context.Context) (release func(), err error) {
	f, err := s.lockStore(ctx, unix.LOCK_SH)
	if err != nil {
		return nil, fmt.Errorf("hold content store %s: %w", s.dir, err)
	}
	var once sync.Once
	return func() { once.Do(func() { f.Close() }) }, nil
}

// Exclusive takes the store lock exclusively and returns its release
// (safe to call more than once): it waits, until ctx ends, for every Hold
// in every process, and keeps new ones waiting. A garbage collector takes
// it to compute what is live, remove what depends on that (unpacked
// snapshots) and SweepLocked the blobs, all without a writer in between.
func (s *Store) Exclusive(ctx context.Context) (release func(), err error) {
	f, err := s.lockStore(ctx, unix.LOCK_EX)
	if err != nil {
		return nil, fmt.Errorf("lock content store %s: wait for holders: %w", s.dir, err)
	}
	var once sync.Once
	return func() { once.Do(func() { f.Close() }) }, nil
}

// lockStore opens the store's lock file and takes how on it; closing the
// file releases the lock.
func (s *Store) lockStore(ctx context.Context, how int) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(s.dir, lockFile), os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := lockWait(ctx, f, how); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// sameFile reports whether the open f is still what path names: a lock
// taken on a directory that its last holder removed meanwhile is a lock
// on nothing.
func sameFile(f *os.File, path string) (bool, error) {
	a, err := f.Stat()
	if err != nil {
		return false, err
	}
	b, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(a, b), nil
}
