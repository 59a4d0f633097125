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
	// The record (images.db) before the snapshot (the snapshotter's
	// metadata), one after the other: a process killed between the two
	// leaves a record without a snapshot, which keeps rmi from removing
	// the image and which the removal of key (or `system check --repair`)
	// clears; written at once, it could leave a snapshot without a
	// record, and rmi would remove the image under it.
	err = s.meta.update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketRootfs).Get([]byte(key)) != nil {
			return fmt.Errorf("rootfs %s: %w", key, snapshot.ErrExists)
		}
		return putJSON(tx, bucketRootfs, key, rec)
	})
	if err != nil {
		return nil, err
	}
	mounts, err := s.snaps.Prepare(ctx, key, top.String(), snapshot.WithLabels(map[string]string{"berth.image": rec.Image}))
	if err != nil {
		_ = s.meta.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketRootfs).Delete([]byte(key)) })
		return nil, fmt.Errorf("rootfs %s: %w", key, err)
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
	// The snapshot first, then its record (see PrepareRootfs): the
	// record keeps rmi from removing the image while the snapshot exists.
	if err := s.snaps.Remove(ctx, key); err != nil && !errors.Is(err, snapshot.ErrNotFound) {
		return fmt.Errorf("remove rootfs %s: %w", key, err)
	}
	return s.meta.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketRootfs).Delete([]byte(key)) })
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
