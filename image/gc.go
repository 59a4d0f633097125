package image

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth/content"
	"berth/snapshot"
)

// GCReport says what a garbage collection removed.
type GCReport struct {
	Blobs     []content.Info
	Snapshots []string
}

// Bytes is the size of the blobs removed.
func (r GCReport) Bytes() int64 {
	var n int64
	for _, b := range r.Blobs {
		n += b.Size
	}
	return n
}

// GC removes what no image name and no container rootfs reaches: blobs,
// and unpacked layer snapshots. It runs with the content store locked
// exclusively, so no import, pull or unpack (they Hold it) is between
// writing its blobs or snapshots and recording its name; an unpack
// snapshot found then is the leftover of a killed process.
func (s *Store) GC(ctx context.Context) (GCReport, error) {
	var rep GCReport
	release, err := s.content.Exclusive(ctx)
	if err != nil {
		return rep, err
	}
	defer release()
	imgs, err := s.List(ctx)
	if err != nil {
		return rep, err
	}
	blobs := map[digest.Digest]bool{}
	snaps := map[string]bool{}
	for _, img := range imgs {
		s.mark(img.Target, 0, blobs, snaps)
	}
	if rep.Snapshots, err = s.sweepSnapshots(ctx, snaps); err != nil {
		return rep, err
	}
	rep.Blobs, err = s.content.SweepLocked(ctx, func(d digest.Digest) bool { return blobs[d] })
	return rep, err
}

// mark adds what d reaches to the live sets. Missing blobs are not an
// error: an index keeps only the platforms that were pulled.
func (s *Store) mark(d ocispec.Descriptor, depth int, blobs map[digest.Digest]bool, snaps map[string]bool) {
	blobs[d.Digest] = true
	if depth > 4 || !IsIndex(d.MediaType) && !IsManifest(d.MediaType) {
		return
	}
	b, err := s.readBlob(d)
	if err != nil {
		return
	}
	if IsIndex(d.MediaType) {
		idx, err := DecodeIndex(b, d.MediaType)
		if err != nil {
			return
		}
		for _, c := range idx.Manifests {
			if c.MediaType == "" {
				c.MediaType = ocispec.MediaTypeImageManifest
			}
			s.mark(c, depth+1, blobs, snaps)
		}
		return
	}
	m, err := DecodeManifest(b, d.MediaType)
	if err != nil {
		return
	}
	blobs[m.Config.Digest] = true
	for _, l := range m.Layers {
		blobs[l.Digest] = true
	}
	if cfg, err := s.Config(context.Background(), m); err == nil {
		for _, c := range ChainIDs(cfg.RootFS.DiffIDs) {
			snaps[c.String()] = true
		}
	}
}

// sweepSnapshots removes committed snapshots not in live, children before
// parents, and leftover unpack snapshots; a parent of a container's rootfs
// stays (the snapshotter refuses to remove it).
func (s *Store) sweepSnapshots(ctx context.Context, live map[string]bool) ([]string, error) {
	var removed []string
	for {
		var candidates []string
		err := s.snaps.Walk(ctx, func(i snapshot.Info) error {
			switch {
			case i.Kind == snapshot.KindCommitted && !live[i.Key]:
				candidates = append(candidates, i.Key)
			case isLeftover(i):
				candidates = append(candidates, i.Key)
			}
			return nil
		})
		if err != nil {
			return removed, err
		}
		progress := false
		for _, k := range candidates {
			err := s.snaps.Remove(ctx, k)
			switch {
			case err == nil:
				removed = append(removed, k)
				progress = true
			case errors.Is(err, snapshot.ErrInUse), errors.Is(err, snapshot.ErrNotFound):
			default:
				return removed, fmt.Errorf("remove snapshot %s: %w", k, err)
			}
		}
		if !progress {
			return removed, nil
		}
	}
}

// isLeftover tells a snapshot only a killed process can have left: the
// store makes unpack ("extract-") and diff ("view-") snapshots while it
// holds the content store, and removes them before letting go.
func isLeftover(i snapshot.Info) bool {
	return i.Kind == snapshot.KindActive && strings.HasPrefix(i.Key, "extract-") ||
		i.Kind == snapshot.KindView && strings.HasPrefix(i.Key, "view-")
}
