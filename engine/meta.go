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

func (m meta) init() error { return m.Init(bucketContainers, bucketNames) }

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
