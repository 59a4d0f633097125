package events

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// The files under berth's root.
const (
	LogFile     = "events.log"   // the current events
	RotatedFile = "events.log.1" // the previous ones
	LockFile    = "events.lock"  // serialises writers (flock)
	// MaxSize is the size at which a writer rotates events.log.
	MaxSize = 1 << 20
)

// Append writes m as one line to root's events.log. The protocol, shared
// with the C monitor: take flock(LOCK_EX) on events.lock; if events.log
// has MaxSize bytes or more, rename it to events.log.1; open events.log
// with O_APPEND and write the whole line with one write(2); close;
// unlock. A reader that takes the lock shared sees the two files in a
// consistent state.
func Append(root string, m Message) error {
	line, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("event: %w", err)
	}
	return appendLine(root, append(line, '\n'))
}

// appendLine is Append for a line already encoded (ending in "\n").
func appendLine(root string, line []byte) error {
	unlock, err := lock(root, unix.LOCK_EX)
	if err != nil {
		return err
	}
	defer unlock()
	path := filepath.Join(root, LogFile)
	if st, err := os.Stat(path); err == nil && st.Size() >= MaxSize {
		if err := os.Rename(path, filepath.Join(root, RotatedFile)); err != nil {
			return fmt.Errorf("rotate the events log: %w", err)
		}
	}
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("open the events log: %w", err)
	}
	defer unix.Close(fd)
	for {
		n, err := unix.Write(fd, line)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("write the events log: %w", err)
		}
		if n != len(line) {
			return fmt.Errorf("write the events log: short write (%d of %d bytes)", n, len(line))
		}
		return nil
	}
}

// lock takes root's events.lock with how (LOCK_EX or LOCK_SH).
func lock(root string, how int) (func(), error) {
	fd, err := unix.Open(filepath.Join(root, LockFile), unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock the events log: %w", err)
	}
	for {
		err = unix.Flock(fd, how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("lock the events log: %w", err)
	}
	return func() { unix.Close(fd) }, nil
}
