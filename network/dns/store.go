package dns

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Files in a network's directory <root>/networks/<id>/.
const (
	recordsName = "dns.json" // the records
	lockName    = "dns.lock" // serialises changes of the records and the server's exit
	pidName     = "dns.pid"  // flocked by the running server, holds its pid
	logName     = "dns.log"  // the server's stderr
)

// Dir is the directory of a network's files, after checking that id is a
// 64-hex network ID (it names a directory).
func Dir(root, id string) (string, error) {
	if !isHexID(id) {
		return "", fmt.Errorf("network id %.80q is not 64 lower-case hex digits", id)
	}
	return filepath.Join(root, "networks", id), nil
}

// ReadRecords reads a network's records file; a missing file is
// os.ErrNotExist (wrapped).
func ReadRecords(dir string) (*Records, error) {
	f, err := os.Open(filepath.Join(dir, recordsName))
	if err != nil {
		return nil, fmt.Errorf("open records: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRecordsSize+1))
	if err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	r, err := ParseRecords(data)
	if err != nil {
		return nil, fmt.Errorf("records %s: %w", f.Name(), err)
	}
	return r, nil
}

// writeRecords replaces the records file atomically (a temporary file
// synced and renamed over it, then the directory synced).
func writeRecords(dir string, r *Records) error {
	data, err := marshalRecords(r)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".dns.json-*")
	if err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write records: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write records: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write records: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, recordsName)); err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// flockFile opens (creating) path and takes an flock on it; with nonblock
// a lock held elsewhere is errWouldBlock.
func flockFile(path string, how int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, errWouldBlock
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}

// ErrRunning is LockPid's error when another server holds dns.pid.
var ErrRunning = errors.New("a dns server for this network runs already")

// LockPid takes dns.pid in a network's directory for its server. A probe
// (Running) holds a shared lock for an instant, so a failed try is retried
// for 100 ms before another server is assumed (ErrRunning).
func LockPid(dir string) (*os.File, error) {
	path := filepath.Join(dir, pidName)
	for range 20 {
		f, err := flockFile(path, unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, errWouldBlock) {
			return nil, err
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil, ErrRunning
}

// Lock takes dns.lock in a network's directory, which serialises changes
// of the records and a server's decision to exit; a missing directory is
// os.ErrNotExist (wrapped). Closing the file releases it.
func Lock(dir string) (*os.File, error) {
	return flockFile(filepath.Join(dir, lockName), unix.LOCK_EX)
}

// RecordsPath is the records file in a network's directory.
func RecordsPath(dir string) string { return filepath.Join(dir, recordsName) }

// errWouldBlock is a non-blocking flock that another holds.
var errWouldBlock = errors.New("lock held by another process")
