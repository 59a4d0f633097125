package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	bolt "go.etcd.io/bbolt"

	"berth/internal/boltfile"
)

// Buckets of the image metadata database.
var (
	bucketImages   = []byte("images")   // normalised reference -> imageRecord
	bucketDangling = []byte("dangling") // manifest digest -> imageRecord of an image without a name
	bucketRootfs   = []byte("rootfs")   // rootfs key -> rootfsRecord
)

// imageRecord is what a reference points at.
type imageRecord struct {
	Target  ocispec.Descriptor `json:"target"`
	Created time.Time          `json:"created"`
}

// rootfsRecord says which image a container's rootfs snapshot comes from,
// so that the image is not removed under it. Only an older berth wrote
// these (bucketRootfs); a rootfs snapshot now carries it as labels.
type rootfsRecord struct {
	Image   string    `json:"image"`
	ImageID string    `json:"imageID"`
	Created time.Time `json:"created"`
}

// meta is the image metadata database (see internal/boltfile).
type meta struct{ boltfile.File }

// newMeta is the image database at path; its first transaction makes the
// file and the buckets.
func newMeta(path string) meta {
	return meta{boltfile.File{Path: path, Buckets: [][]byte{bucketImages, bucketDangling, bucketRootfs}}}
}

func (m meta) update(fn func(*bolt.Tx) error) error { return m.Update(fn) }

func (m meta) view(fn func(*bolt.Tx) error) error { return m.View(fn) }

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
