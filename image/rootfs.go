package image

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
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

// Labels of a rootfs snapshot. They are its record: the image it was
// made from, by name and ID.
const (
	labelImage   = "berth.image"
	labelImageID = "berth.image-id"
)

// PrepareRootfs unpacks the image if needed and makes the writable
// snapshot key on top of it, recording that it uses the image (so rmi
// refuses to remove the image while it exists). It returns the mounts
// that make the rootfs; the caller mounts them where it wants.
func (s *Store) PrepareRootfs(ctx context.Context, key string, img Image) ([]snapshot.Mount, error) {
	sum, err := s.Describe(ctx, img)
	if err != nil {
		return nil, err
	}
	return s.PrepareRootfsOf(ctx, key, img, sum)
}

// PrepareRootfsOf is PrepareRootfs for an image its caller has described
// (sum): an image whose top layer is unpacked (and so every layer under
// it) is not read again.
func (s *Store) PrepareRootfsOf(ctx context.Context, key string, img Image, sum Summary) ([]snapshot.Mount, error) {
	release, err := s.content.Hold(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	// The record is the snapshot's labels, written with it in one
	// transaction: there is never a snapshot rmi does not see, nor a
	// record without its snapshot, and a container's create syncs one
	// database, not two. (An older berth wrote a record to images.db
	// first; Rootfses still reads those.)
	labels := snapshot.WithLabels(map[string]string{
		labelImage: img.Name.String(), labelImageID: sum.ID.String(),
	})
	if n := len(sum.Layers); n > 0 {
		// Usually the image is unpacked: its top layer is there.
		mounts, err := s.snaps.Prepare(ctx, key, sum.Layers[n-1].String(), labels)
		if err == nil {
			return mounts, nil
		}
		if !errors.Is(err, snapshot.ErrNotFound) {
			return nil, fmt.Errorf("rootfs %s: %w", key, err)
		}
	}
	top, err := s.Unpack(ctx, img)
	if err != nil {
		return nil, err
	}
	mounts, err := s.snaps.Prepare(ctx, key, top.String(), labels)
	if err != nil {
		return nil, fmt.Errorf("rootfs %s: %w", key, err)
	}
	return mounts, nil
}

// RootfsMounts returns the mounts of an existing rootfs again.
func (s *Store) RootfsMounts(ctx context.Context, key string) ([]snapshot.Mount, error) {
	return s.snaps.Mounts(ctx, key)
}

// RemoveRootfs removes a rootfs snapshot (unmounted by the caller) and an
// older berth's record of it.
func (s *Store) RemoveRootfs(ctx context.Context, key string) error {
	// The snapshot first, then the old record (which kept rmi from
	// removing the image while the snapshot existed).
	if err := s.snaps.Remove(ctx, key); err != nil && !errors.Is(err, snapshot.ErrNotFound) {
		return fmt.Errorf("remove rootfs %s: %w", key, err)
	}
	var old bool
	if err := s.meta.view(func(tx *bolt.Tx) error {
		old = tx.Bucket(bucketRootfs).Get([]byte(key)) != nil
		return nil
	}); err != nil || !old {
		return err
	}
	return s.meta.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketRootfs).Delete([]byte(key)) })
}

// Rootfses lists the rootfs snapshots, by key: the labelled snapshots,
// and the records an older berth kept in images.db.
func (s *Store) Rootfses(ctx context.Context) ([]Rootfs, error) {
	var out []Rootfs
	seen := map[string]bool{}
	err := s.snaps.Walk(ctx, func(i snapshot.Info) error {
		id, ok := i.Labels[labelImageID]
		if !ok || i.Kind != snapshot.KindActive {
			return nil
		}
		seen[i.Key] = true
		out = append(out, Rootfs{Key: i.Key, Image: i.Labels[labelImage], ImageID: id, Created: i.Created})
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = s.meta.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRootfs).ForEach(func(k, _ []byte) error {
			if seen[string(k)] {
				return nil
			}
			var rec rootfsRecord
			if err := getJSON(tx, bucketRootfs, string(k), &rec); err != nil {
				return err
			}
			out = append(out, Rootfs{Key: string(k), Image: rec.Image, ImageID: rec.ImageID, Created: rec.Created})
			return nil
		})
	})
	slices.SortFunc(out, func(a, b Rootfs) int { return strings.Compare(a.Key, b.Key) })
	return out, err
}
