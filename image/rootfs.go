package image

import (
	"context"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"berth/snapshot"
)

// Rootfs is a container's root filesystem: a writable snapshot on top of
// an image's layers.
type Rootfs struct {
	Key     string
	Image   string // the image's name when it was made
	ImageID string
	Created time.Time
}

// PrepareRootfs unpacks the image if needed and makes the writable
// snapshot key on top of it, recording that it uses the image (so rmi
// refuses to remove the image while it exists). It returns the mounts
// that make the rootfs; the caller mounts them where it wants.
func (s *Store) PrepareRootfs(ctx context.Context, key string, img Image) ([]snapshot.Mount, error) {
	release, err := s.content.Hold(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	id, err := s.ID(ctx, img)
	if err != nil {
		return nil, err
	}
	top, err := s.Unpack(ctx, img)
	if err != nil {
		return nil, err
	}
	rec := rootfsRecord{Image: img.Name.String(), ImageID: id.String(), Created: time.Now().UTC()}
	// The record (images.db) and the snapshot (the snapshotter's
	// metadata) are two files: both written at once, their fdatasyncs
	// overlap (the filesystem's journal commits them together) instead of
	// following each other. Either alone is no leak: the caller's record
	// of key (the engine's container, written before) leads its removal
	// to RemoveRootfs, which removes both, whichever exists.
	recErr := make(chan error, 1)
	go func() {
		recErr <- s.meta.update(func(tx *bolt.Tx) error {
			if tx.Bucket(bucketRootfs).Get([]byte(key)) != nil {
				return fmt.Errorf("rootfs %s: %w", key, snapshot.ErrExists)
			}
			return putJSON(tx, bucketRootfs, key, rec)
		})
	}()
	mounts, err := s.snaps.Prepare(ctx, key, top.String(), snapshot.WithLabels(map[string]string{"berth.image": rec.Image}))
	rerr := <-recErr
	switch {
	case err != nil && rerr == nil:
		_ = s.meta.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketRootfs).Delete([]byte(key)) })
		return nil, err
	case err != nil:
		return nil, err
	case rerr != nil:
		// Ours, just made: the record was refused (another rootfs of that
		// key is recorded) or not written.
		_ = s.snaps.Remove(ctx, key)
		return nil, rerr
	}
	return mounts, nil
}

// RootfsMounts returns the mounts of an existing rootfs again.
func (s *Store) RootfsMounts(ctx context.Context, key string) ([]snapshot.Mount, error) {
	return s.snaps.Mounts(ctx, key)
}

// RemoveRootfs removes a rootfs snapshot (unmounted by the caller) and its
// record.
func (s *Store) RemoveRootfs(ctx context.Context, key string) error {
	// Both at once, as in PrepareRootfs (their fdatasyncs overlap); each
	// half is idempotent and the caller retries the whole on a failure.
	// Should the snapshot stay, its record is put back: it keeps rmi from
	// removing the image under it.
	var old []byte
	recErr := make(chan error, 1)
	go func() {
		recErr <- s.meta.update(func(tx *bolt.Tx) error {
			if v := tx.Bucket(bucketRootfs).Get([]byte(key)); v != nil {
				old = append([]byte(nil), v...)
			}
			return tx.Bucket(bucketRootfs).Delete([]byte(key))
		})
	}()
	err := s.snaps.Remove(ctx, key)
	rerr := <-recErr
	if err != nil && !errors.Is(err, snapshot.ErrNotFound) {
		if rerr == nil && old != nil {
			_ = s.meta.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketRootfs).Put([]byte(key), old) })
		}
		return fmt.Errorf("remove rootfs %s: %w", key, err)
	}
	return rerr
}

// Rootfses lists the recorded rootfs snapshots.
func (s *Store) Rootfses(ctx context.Context) ([]Rootfs, error) {
	var out []Rootfs
	err := s.meta.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRootfs).ForEach(func(k, _ []byte) error {
			var rec rootfsRecord
			if err := getJSON(tx, bucketRootfs, string(k), &rec); err != nil {
				return err
			}
			out = append(out, Rootfs{Key: string(k), Image: rec.Image, ImageID: rec.ImageID, Created: rec.Created})
			return nil
		})
	})
	return out, err
}
