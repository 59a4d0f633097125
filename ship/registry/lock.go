package registry

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// lockName is the lock file in a registry root. The server holds it while
// it runs and garbage collection takes it, so gc never sweeps blobs a
// running server is writing or about to link.
const lockName = "registry.lock"

// ErrLocked reports that another berth registry process (a server or a
// garbage collection) holds the root.
var ErrLocked = errors.New("registry root in use by another berth registry process")

// lockRoot takes the root's lock without waiting, creating the root if
// needed. The caller closes the file to release it.
func lockRoot(root string) (*os.File, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("registry root %s: %w", root, err)
	}
	path := filepath.Join(root, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("registry lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}
