package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	bolt "go.etcd.io/bbolt"
)

// Buckets of the image metadata database.
var (
	bucketImages   = []byte("images")   // normalised reference -> imageRecord
	bucketDangling = []byte("dangling") // manifest digest -> imageRecord of an image without a name
	bucketRootfs   = []byte("rootfs")   // rootfs key -> rootfsRecord
)

// lockTimeout bounds the wait for another berth process's transaction.
const lockTimeout = 30 * time.Second

// imageRecord is what a reference points at.
type imageRecord struct {
	Target  ocispec.Descriptor `json:"target"`
	Created time.Time          `json:"created"`
}

// rootfsRecord says which image a container's rootfs snapshot comes from,
// so that the image is not removed under it.
type rootfsRecord struct {
	Image   string    `json:"image"`
	ImageID string    `json:"imageID"`
	Created time.Time `json:"created"`
}

// meta is the image metadata database. bbolt locks the whole file while
// it is open, so it is opened for each transaction and closed after it:
// several berth commands at once then wait for each other's transaction
// only, not for each other's lifetime (as Podman's bolt state does).
type meta struct {
	path string
}

func (m meta) open(readOnly bool) (*bolt.DB, error) {
	db, err := bolt.Open(m.path, 0o600, &bolt.Options{Timeout: lockTimeout, ReadOnly: readOnly})
	if err != nil {
		return nil, fmt.Errorf("open image metadata %s: %w", m.path, err)
	}
	return db, nil
}

// init creates the database and its buckets.
func (m meta) init() error {
	return m.update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketImages, bucketDangling, bucketRootfs} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
}

func (m meta) update(fn func(*bolt.Tx) error) error {
	db, err := m.open(false)
	if err != nil {
		return err
	}
	err = db.Update(fn)
	if cerr := db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close image metadata: %w", cerr)
	}
	return err
}

func (m meta) view(fn func(*bolt.Tx) error) error {
	// A read-only open takes a shared lock, so readers run together.
	db, err := m.open(true)
	if err != nil {
		return err
	}
	err = db.View(fn)
	db.Close()
	return err
}

// errNoRecord is returned by getJSON for a missing key.
var errNoRecord = errors.New("no record")

func getJSON(tx *bolt.Tx, bucket []byte, key string, v any) error {
	b := tx.Bucket(bucket).Get([]byte(key))
	if b == nil {
		return errNoRecord
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("metadata %s/%s: %w", bucket, key, err)
	}
	return nil
}

func putJSON(tx *bolt.Tx, bucket []byte, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put([]byte(key), b)
}
