// Package boltfile is a bbolt database opened for each transaction and
// closed after it. bbolt locks its whole file while it is open, so a
// database held open for a command's lifetime would make every other berth
// command wait for that one to end; opened per transaction, berth commands
// wait only for each other's transactions (as Podman's bolt state does).
// Read-only transactions take a shared lock and run together.
package boltfile

import (
	"errors"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DefaultTimeout bounds the wait for another process's transaction.
const DefaultTimeout = 30 * time.Second

// File is a bbolt database file.
type File struct {
	Path string
	// Timeout is how long a transaction waits for another process's;
	// zero means DefaultTimeout.
	Timeout time.Duration
	// Buckets are made by the first transaction that needs them: an
	// Update makes the missing ones in its own transaction, a View that
	// finds one missing (or no file) runs an Update for them first.
	// Opening a store then costs no transaction: every berth command
	// opens its databases.
	Buckets [][]byte
}

// open takes the file's turn lock (see takeTurn) and opens it; release
// unlocks after the database is closed.
func (f File) open(readOnly bool) (_ *bolt.DB, release func(), _ error) {
	t := f.Timeout
	if t == 0 {
		t = DefaultTimeout
	}
	release, err := takeTurn(f.Path, !readOnly, t)
	if err != nil {
		return nil, nil, err
	}
	db, err := bolt.Open(f.Path, 0o600, &bolt.Options{Timeout: t, ReadOnly: readOnly})
	if err != nil {
		release()
		return nil, nil, fmt.Errorf("open %s: %w", f.Path, err)
	}
	return db, release, nil
}

// Update runs fn in a read-write transaction, creating the file if needed.
func (f File) Update(fn func(*bolt.Tx) error) error {
	db, release, err := f.open(false)
	if err != nil {
		return err
	}
	defer release()
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range f.Buckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return fn(tx)
	})
	if cerr := db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", f.Path, cerr)
	}
	return err
}

// View runs fn in a read-only transaction, once the file exists with
// every bucket of f.Buckets.
func (f File) View(fn func(*bolt.Tx) error) error {
	ready, err := f.view(fn)
	if ready {
		return err
	}
	if err := f.Update(func(*bolt.Tx) error { return nil }); err != nil {
		return err
	}
	_, err = f.view(fn)
	return err
}

// view runs fn if the file opens and has every bucket; ready is false
// (and fn has not run) otherwise.
func (f File) view(fn func(*bolt.Tx) error) (ready bool, err error) {
	if len(f.Buckets) > 0 {
		if st, err := os.Stat(f.Path); err != nil || st.Size() == 0 {
			return false, err
		}
	}
	db, release, err := f.open(true)
	if err != nil {
		return len(f.Buckets) == 0, err
	}
	defer release()
	err = db.View(func(tx *bolt.Tx) error {
		for _, b := range f.Buckets {
			if tx.Bucket(b) == nil {
				return errMissing
			}
		}
		ready = true
		return fn(tx)
	})
	db.Close()
	return ready, err
}

// errMissing stops a View that found a bucket missing.
var errMissing = errors.New("bucket missing")

// Init creates the file and the buckets now, rather than in the first
// transaction that needs them: a View that finds them all writes nothing
// (a write transaction costs two fdatasyncs and an exclusive lock even
// when it changes nothing); one that finds something missing makes it.
func (f File) Init(buckets ...[]byte) error {
	f.Buckets = buckets
	return f.View(func(*bolt.Tx) error { return nil })
}
