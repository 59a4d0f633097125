package image

import (
	"context"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"berth/content"
	"berth/snapshot"
)

// CheckReport is what Check found, and what it repaired.
type CheckReport struct {
	Content content.Report
	// Problems of the image metadata and snapshots, one line each.
	Problems []string
	Repaired bool
}

// OK tells whether nothing was found.
func (r CheckReport) OK() bool { return r.Content.OK() && len(r.Problems) == 0 }

// Check verifies the store after a crash (a kill -9 during an import,
// load or commit): every blob's digest, stale partial writes, names
// pointing at missing content, rootfs records without a snapshot,
// leftover unpack snapshots and snapshot directories no metadata knows.
// With repair it removes what is broken or left over; names of images
// whose content is missing are removed too.
func (s *Store) Check(ctx context.Context, repair bool) (CheckReport, error) {
	rep := CheckReport{Repaired: repair}
	imgs, err := s.List(ctx)
	if err != nil {
		return rep, err
	}
	var bad []Image
	for _, img := range imgs {
		if _, err := s.Summarize(ctx, img); err != nil {
			rep.Problems = append(rep.Problems, fmt.Sprintf("image %s: %v", displayName(img), err))
			bad = append(bad, img)
		}
	}
	rootfses, err := s.Rootfses(ctx)
	if err != nil {
		return rep, err
	}
	var badRootfs []string
	for _, r := range rootfses {
		if _, err := s.snaps.Stat(ctx, r.Key); errors.Is(err, snapshot.ErrNotFound) {
			rep.Problems = append(rep.Problems, fmt.Sprintf("rootfs %s: its snapshot is missing", r.Key))
			badRootfs = append(badRootfs, r.Key)
		}
	}
	if repair {
		for _, img := range bad {
			if err := s.Untag(ctx, img); err != nil {
				return rep, err
			}
		}
		if err := s.meta.update(func(tx *bolt.Tx) error {
			for _, k := range badRootfs {
				if err := tx.Bucket(bucketRootfs).Delete([]byte(k)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return rep, err
		}
	}
	if err := s.checkSnapshots(ctx, repair, &rep); err != nil {
		return rep, err
	}
	rep.Content, err = s.content.Check(ctx, repair)
	return rep, err
}

// checkSnapshots finds unpack snapshots a killed process left, and (with
// repair) removes them and the snapshotter's orphaned directories, with the
// content store locked so that no unpack is running.
func (s *Store) checkSnapshots(ctx context.Context, repair bool, rep *CheckReport) error {
	if repair {
		release, err := s.content.Exclusive(ctx)
		if err != nil {
			return err
		}
		defer release()
	}
	var leftovers []string
	err := s.snaps.Walk(ctx, func(i snapshot.Info) error {
		if isLeftover(i) {
			leftovers = append(leftovers, i.Key)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range leftovers {
		rep.Problems = append(rep.Problems, fmt.Sprintf("snapshot %s: left by an interrupted unpack", k))
		if repair {
			if err := s.snaps.Remove(ctx, k); err != nil && !errors.Is(err, snapshot.ErrNotFound) {
				return err
			}
		}
	}
	if repair {
		return s.snaps.Cleanup(ctx)
	}
	return nil
}
