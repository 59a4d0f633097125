package image

import (
	"context"
	"time"

	"github.com/opencontainers/go-digest"

	"berth/content"
)

// ImageUsage is one image's line of `system df -v`.
type ImageUsage struct {
	Names   []Ref
	ID      digest.Digest
	Created time.Time
	// Size is the unpacked size of its layers; Shared the part of it in
	// layers another image also has, Unique the rest.
	Size, Shared, Unique int64
	// Containers counts the rootfs snapshots made from it.
	Containers int
}

// RootfsUsage is a container rootfs and the space its own changes take.
type RootfsUsage struct {
	Rootfs
	Size int64
}

// DiskUsage is what `system df` shows: images with what they share, the
// space of all unpacked layers counted once, and the rootfs snapshots.
type DiskUsage struct {
	Images []ImageUsage
	// LayersSize counts every unpacked layer once; Reclaimable is the part
	// no container uses.
	LayersSize, Reclaimable int64
	// ContentSize is the size of the blobs (compressed layers, manifests,
	// configs).
	ContentSize int64
	Rootfs      []RootfsUsage
}

// DiskUsage measures the store.
func (s *Store) DiskUsage(ctx context.Context) (DiskUsage, error) {
	var du DiskUsage
	imgs, err := s.List(ctx)
	if err != nil {
		return du, err
	}
	rootfses, err := s.Rootfses(ctx)
	if err != nil {
		return du, err
	}
	users := map[string]int{}
	for _, r := range rootfses {
		users[r.ImageID]++
		u, _ := s.snaps.Usage(ctx, r.Key)
		du.Rootfs = append(du.Rootfs, RootfsUsage{Rootfs: r, Size: u.Size})
	}
	// One entry per image ID; the layers each uses and how many IDs use each.
	byID := map[digest.Digest]*ImageUsage{}
	var order []digest.Digest
	layersOf := map[digest.Digest][]digest.Digest{}
	layerUsers := map[digest.Digest]int{}
	for _, img := range imgs {
		sum, err := s.Summarize(ctx, img)
		if err != nil {
			continue
		}
		if u, ok := byID[sum.ID]; ok {
			u.Names = append(u.Names, img.Name)
			continue
		}
		byID[sum.ID] = &ImageUsage{Names: []Ref{img.Name}, ID: sum.ID, Created: sum.Created, Containers: users[sum.ID.String()]}
		order = append(order, sum.ID)
		layersOf[sum.ID] = sum.Layers
		for _, l := range sum.Layers {
			layerUsers[l]++
		}
	}
	layerSize := map[digest.Digest]int64{}
	activeLayer := map[digest.Digest]bool{}
	for _, id := range order {
		u := byID[id]
		for _, l := range layersOf[id] {
			size, ok := layerSize[l]
			if !ok {
				us, _ := s.snaps.Usage(ctx, l.String())
				size = us.Size
				layerSize[l] = size
			}
			u.Size += size
			if layerUsers[l] > 1 {
				u.Shared += size
			} else {
				u.Unique += size
			}
			if u.Containers > 0 {
				activeLayer[l] = true
			}
		}
		du.Images = append(du.Images, *u)
	}
	for l, size := range layerSize {
		du.LayersSize += size
		if !activeLayer[l] {
			du.Reclaimable += size
		}
	}
	err = s.content.Walk(ctx, func(i content.Info) error {
		du.ContentSize += i.Size
		return nil
	})
	return du, err
}
