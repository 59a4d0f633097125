package engine

import (
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"berth/internal/boltfile"
)

var (
	bucketContainers = []byte("containers") // id -> Container
	bucketNames      = []byte("names")      // name -> id
)

// errNoRecord says a key is missing.
var errNoRecord = errors.New("no record")

// meta is the container database (see internal/boltfile).
type meta struct{ boltfile.File }

// newMeta is the container database at path; its first transaction makes
// the file and the buckets.
func newMeta(path string) meta {
	return meta{boltfile.File{Path: path, Buckets: [][]byte{bucketContainers, bucketNames}}}
}

func (m meta) update(fn func(*bolt.Tx) error) error { return m.Update(fn) }

func (m meta) view(fn func(*bolt.Tx) error) error { return m.View(fn) }

func getContainer(tx *bolt.Tx, id string) (*Container, error) {
	b := tx.Bucket(bucketContainers).Get([]byte(id))
	if b == nil {
		return nil, errNoRecord
	}
	var c Container
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("container record %s: %w", id, err)
	}
	return &c, nil
}

func putContainer(tx *bolt.Tx, c *Container) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketContainers).Put([]byte(c.ID), b)
}

// modify changes a container's record in one transaction: fn gets the
// record as stored now and changes only the fields it owns, so commands
// running at once never write back each other's stale copies (a rename
// lost, a name that no longer matches its record).
func (e *Engine) modify(id string, fn func(*Container) error) (*Container, error) {
	var cur *Container
	err := e.meta.update(func(tx *bolt.Tx) error {
		c, err := getContainer(tx, id)
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
		cur = c
		return putContainer(tx, c)
	})
	if err != nil {
		return nil, fmt.Errorf("update container %s: %w", id, err)
	}
	return cur, nil
}

// reload replaces c with the stored record and refreshes its state; a
// command calls it once it holds the container's lock, as what it read
// before may be stale.
func (e *Engine) reload(c *Container) error {
	var cur *Container
	err := e.meta.view(func(tx *bolt.Tx) error {
		var err error
		cur, err = getContainer(tx, c.ID)
		return err
	})
	if errors.Is(err, errNoRecord) {
		return fmt.Errorf("%w: %s", ErrNotFound, c.Name)
	}
	if err != nil {
		return err
	}
	*c = *cur
	e.refresh(c)
	return nil
}
