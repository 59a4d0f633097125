package boltfile

import (
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// takeTurn locks the database file, shared or exclusive, before bbolt opens
// it. bbolt waits for another process's lock by sleeping 50 ms between
// tries, so any overlap of two berth commands cost one of them 50 ms; here
// the wait is retried within a millisecond or two. The lock is an open
// file description lock (fcntl F_OFD_SETLK) on the file itself: no other
// file is made, and it is independent of bbolt's flock, which is then
// free. An exclusive turn creates the file if missing (bbolt initialises
// an empty one). release unlocks.
func takeTurn(path string, exclusive bool, timeout time.Duration) (release func(), _ error) {
	flags, lockType := unix.O_RDONLY, int16(unix.F_RDLCK)
	if exclusive {
		flags, lockType = unix.O_RDWR|unix.O_CREAT, unix.F_WRLCK
	}
	fd, err := unix.Open(path, flags|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	lk := unix.Flock_t{Type: lockType, Whence: 0, Start: 0, Len: 0} // the whole file
	deadline := time.Now().Add(timeout)
	delay := 50 * time.Microsecond
	for {
		err := unix.FcntlFlock(uintptr(fd), unix.F_OFD_SETLK, &lk)
		if err == nil {
			return func() { unix.Close(fd) }, nil
		}
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EACCES) && !errors.Is(err, unix.EINTR) {
			unix.Close(fd)
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			unix.Close(fd)
			return nil, fmt.Errorf("lock %s: %w", path, bolt.ErrTimeout) // bbolt's own, so callers see one kind
		}
		time.Sleep(delay)
		if delay < 2*time.Millisecond {
			delay *= 2
		}
	}
}
