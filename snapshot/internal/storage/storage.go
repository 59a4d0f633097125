// Package storage keeps snapshot metadata in a bbolt database: each
// snapshot's record (id, kind, parent, created, labels) by key, and an
// index of each snapshot's children. Every change is one transaction, and
// the snapshotters publish their directories from inside it, so a crash
// leaves either a record with its directory or an orphan directory that
// Cleanup removes.
package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"berth/internal/boltfile"

	"berth/snapshot"
)

// The buckets.
const (
	bucketSnapshots = "snapshots" // key -> JSON record
	bucketChildren  = "children"  // parent "\x00" child -> ""
	bucketMeta      = "meta"      // sequence for ids
)

func bucket(tx *bolt.Tx, name string) *bolt.Bucket { return tx.Bucket([]byte(name)) }

// maxKeyLen bounds keys: they are map keys in the database, not paths.
const maxKeyLen = 4096

// Record is a snapshot's stored metadata.
type Record struct {
	// ID names the snapshot's directory; never reused.
	ID string `json:"id"`
	// Key is the snapshot's name (not stored: it is the database key).
	Key string `json:"-"`
	// Parent is the parent's key, or "".
	Parent string `json:"parent,omitempty"`
	// Kind is active, view or committed.
	Kind snapshot.Kind `json:"kind"`
	// Created is when the snapshot was prepared.
	Created time.Time `json:"created"`
	// Labels are the caller's annotations.
	Labels map[string]string `json:"labels,omitempty"`
}

// Info converts the record to the public type.
func (r Record) Info() snapshot.Info {
	labels := make(map[string]string, len(r.Labels))
	for k, v := range r.Labels {
		labels[k] = v
	}
	return snapshot.Info{Key: r.Key, Parent: r.Parent, Kind: r.Kind, Created: r.Created, Labels: labels}
}

// Store is a metadata database, opened for each transaction (see
// internal/boltfile).
type Store struct {
	f boltfile.File
}

// Open opens (creating if needed) the database at path. A transaction
// waits up to timeout for another process's.
func Open(path string, timeout time.Duration) (*Store, error) {
	s := &Store{f: boltfile.File{Path: path, Timeout: timeout,
		Buckets: [][]byte{[]byte(bucketSnapshots), []byte(bucketChildren), []byte(bucketMeta)}}}
	// The file says which snapshotter a root uses (snapshot/auto): it is
	// made when the store is first opened; later opens cost nothing (its
	// first transaction makes any bucket it lacks).
	if _, err := os.Stat(path); err != nil {
		if err := s.f.Init(s.f.Buckets...); err != nil {
			return nil, fmt.Errorf("init snapshot metadata %s: %w", path, err)
		}
	}
	return s, nil
}

// Close releases nothing: no file stays open between transactions.
func (s *Store) Close() error { return nil }

func (s *Store) update(fn func(*bolt.Tx) error) error { return s.f.Update(fn) }

func (s *Store) view(fn func(*bolt.Tx) error) error { return s.f.View(fn) }

// CheckKey rejects keys the store cannot hold.
func CheckKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty key", snapshot.ErrInvalid)
	case len(key) > maxKeyLen:
		return fmt.Errorf("%w: key of %d bytes, at most %d", snapshot.ErrInvalid, len(key), maxKeyLen)
	case strings.ContainsRune(key, 0):
		return fmt.Errorf("%w: key %q contains NUL", snapshot.ErrInvalid, key)
	}
	return nil
}

func get(tx *bolt.Tx, key string) (Record, error) {
	v := bucket(tx, bucketSnapshots).Get([]byte(key))
	if v == nil {
		return Record{}, fmt.Errorf("snapshot %q: %w", key, snapshot.ErrNotFound)
	}
	var r Record
	if err := json.Unmarshal(v, &r); err != nil {
		return Record{}, fmt.Errorf("snapshot %q: corrupt record: %w", key, err)
	}
	r.Key = key
	return r, nil
}

func put(tx *bolt.Tx, r Record) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return bucket(tx, bucketSnapshots).Put([]byte(r.Key), v)
}

func childKey(parent, child string) []byte {
	return []byte(parent + "\x00" + child)
}

func hasChildren(tx *bolt.Tx, key string) bool {
	prefix := []byte(key + "\x00")
	k, _ := bucket(tx, bucketChildren).Cursor().Seek(prefix)
	return k != nil && strings.HasPrefix(string(k), string(prefix))
}

// chain returns the record of key and its ancestors, key first.
func chain(tx *bolt.Tx, key string) ([]Record, error) {
	var out []Record
	for key != "" {
		r, err := get(tx, key)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
		key = r.Parent
		if len(out) > 1<<16 {
			return nil, fmt.Errorf("snapshot %q: parent chain loops", out[0].Key)
		}
	}
	return out, nil
}

// Get returns the record of key.
func (s *Store) Get(ctx context.Context, key string) (Record, error) {
	var r Record
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		r, err = get(tx, key)
		return err
	})
	return r, err
}

// Chain returns the record of key followed by its ancestors, nearest
// first (the order of overlay's lowerdir).
func (s *Store) Chain(ctx context.Context, key string) ([]Record, error) {
	var out []Record
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		out, err = chain(tx, key)
		return err
	})
	return out, err
}

// Parents checks that a new snapshot key could be made on parent and
// returns parent's chain (nil for no parent).
func (s *Store) Parents(ctx context.Context, key, parent string) ([]Record, error) {
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	var out []Record
	err := s.view(func(tx *bolt.Tx) error {
		if bucket(tx, bucketSnapshots).Get([]byte(key)) != nil {
			return fmt.Errorf("snapshot %q: %w", key, snapshot.ErrExists)
		}
		if parent == "" {
			return nil
		}
		var err error
		out, err = chain(tx, parent)
		if err != nil {
			return fmt.Errorf("parent: %w", err)
		}
		if out[0].Kind != snapshot.KindCommitted {
			return fmt.Errorf("%w: parent %q is %s, not committed", snapshot.ErrInvalid, parent, out[0].Kind)
		}
		return nil
	})
	return out, err
}

// Create adds a snapshot record. parentID must be the id Parents returned
// for parent ("" for none): if the parent was replaced meanwhile, Create
// fails. publish runs inside the transaction with the new id; if it fails
// nothing is recorded, and if it succeeds but the transaction does not
// commit, undo runs.
func (s *Store) Create(ctx context.Context, kind snapshot.Kind, key, parent, parentID string, labels map[string]string, publish func(id string) error, undo func(id string)) (Record, error) {
	if err := CheckKey(key); err != nil {
		return Record{}, err
	}
	var r Record
	published := false
	err := s.update(func(tx *bolt.Tx) error {
		if bucket(tx, bucketSnapshots).Get([]byte(key)) != nil {
			return fmt.Errorf("snapshot %q: %w", key, snapshot.ErrExists)
		}
		if parent != "" {
			p, err := get(tx, parent)
			if err != nil {
				return fmt.Errorf("parent: %w", err)
			}
			if p.Kind != snapshot.KindCommitted {
				return fmt.Errorf("%w: parent %q is %s, not committed", snapshot.ErrInvalid, parent, p.Kind)
			}
			if p.ID != parentID {
				return fmt.Errorf("parent %q was replaced while preparing %q: %w", parent, key, snapshot.ErrNotFound)
			}
			if err := bucket(tx, bucketChildren).Put(childKey(parent, key), nil); err != nil {
				return err
			}
		}
		seq, err := bucket(tx, bucketMeta).NextSequence()
		if err != nil {
			return err
		}
		r = Record{ID: strconv.FormatUint(seq, 10), Key: key, Parent: parent, Kind: kind, Created: time.Now().UTC(), Labels: labels}
		if err := put(tx, r); err != nil {
			return err
		}
		if err := publish(r.ID); err != nil {
			return err
		}
		published = true
		return nil
	})
	if err != nil {
		if published && undo != nil {
			undo(r.ID)
		}
		return Record{}, err
	}
	return r, nil
}

// Commit renames the active snapshot key to name, now committed; labels,
// if any, replace the old ones.
func (s *Store) Commit(ctx context.Context, name, key string, labels map[string]string) (Record, error) {
	if err := CheckKey(name); err != nil {
		return Record{}, err
	}
	var r Record
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		r, err = get(tx, key)
		if err != nil {
			return err
		}
		if r.Kind != snapshot.KindActive {
			return fmt.Errorf("%w: snapshot %q is %s, only an active snapshot can be committed", snapshot.ErrInvalid, key, r.Kind)
		}
		if bucket(tx, bucketSnapshots).Get([]byte(name)) != nil {
			return fmt.Errorf("snapshot %q: %w", name, snapshot.ErrExists)
		}
		b := bucket(tx, bucketSnapshots)
		if err := b.Delete([]byte(key)); err != nil {
			return err
		}
		if r.Parent != "" {
			c := bucket(tx, bucketChildren)
			if err := c.Delete(childKey(r.Parent, key)); err != nil {
				return err
			}
			if err := c.Put(childKey(r.Parent, name), nil); err != nil {
				return err
			}
		}
		r.Key, r.Kind = name, snapshot.KindCommitted
		if labels != nil {
			r.Labels = labels
		}
		return put(tx, r)
	})
	return r, err
}

// Remove deletes the record of key unless it has children. unpublish
// runs inside the transaction (to move the directory out of the way); if
// the transaction then fails, undo runs.
func (s *Store) Remove(ctx context.Context, key string, unpublish func(Record) error, undo func(Record)) (Record, error) {
	var r Record
	done := false
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		r, err = get(tx, key)
		if err != nil {
			return err
		}
		if hasChildren(tx, key) {
			return fmt.Errorf("snapshot %q has children: %w", key, snapshot.ErrInUse)
		}
		if err := bucket(tx, bucketSnapshots).Delete([]byte(key)); err != nil {
			return err
		}
		if r.Parent != "" {
			if err := bucket(tx, bucketChildren).Delete(childKey(r.Parent, key)); err != nil {
				return err
			}
		}
		if err := unpublish(r); err != nil {
			return err
		}
		done = true
		return nil
	})
	if err != nil {
		if done && undo != nil {
			undo(r)
		}
		return Record{}, err
	}
	return r, nil
}

// Walk calls fn for every record.
func (s *Store) Walk(ctx context.Context, fn func(Record) error) error {
	var recs []Record
	err := s.view(func(tx *bolt.Tx) error {
		return bucket(tx, bucketSnapshots).ForEach(func(k, v []byte) error {
			var r Record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("snapshot %q: corrupt record: %w", k, err)
			}
			r.Key = string(k)
			recs = append(recs, r)
			return nil
		})
	})
	if err != nil {
		return err
	}
	// fn runs outside the transaction so it may call back into the store.
	for _, r := range recs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// IDs returns the ids of every snapshot.
func (s *Store) IDs(ctx context.Context) (map[string]bool, error) {
	ids := make(map[string]bool)
	err := s.Walk(ctx, func(r Record) error {
		ids[r.ID] = true
		return nil
	})
	return ids, err
}
