package image

import (
	"context"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Summary is what `berth images` and `inspect` show of an image.
type Summary struct {
	ID       digest.Digest // the config's digest
	Manifest ocispec.Descriptor
	Config   ocispec.Image
	Created  time.Time
	// Size is the unpacked size of all layers (their snapshots' usage), or
	// the compressed size of those not unpacked.
	Size int64
	// Layers are the chain IDs of the layer stack, bottom first.
	Layers []digest.Digest
}

// Summarize reads what Summary holds.
func (s *Store) Summarize(ctx context.Context, img Image) (Summary, error) {
	sum, m, err := s.describe(ctx, img)
	if err != nil {
		return Summary{}, err
	}
	for i, c := range sum.Layers {
		if u, err := s.snaps.Usage(ctx, c.String()); err == nil {
			sum.Size += u.Size
		} else {
			sum.Size += m.Layers[i].Size
		}
	}
	return sum, nil
}

// Describe is Summarize without Size, which walks every unpacked layer:
// for a container's create, which needs the image's ID and config only.
func (s *Store) Describe(ctx context.Context, img Image) (Summary, error) {
	sum, _, err := s.describe(ctx, img)
	return sum, err
}

func (s *Store) describe(ctx context.Context, img Image) (Summary, ocispec.Manifest, error) {
	m, mdesc, err := s.Manifest(ctx, img)
	if err != nil {
		return Summary{}, m, err
	}
	cfg, err := s.Config(ctx, m)
	if err != nil {
		return Summary{}, m, err
	}
	sum := Summary{ID: m.Config.Digest, Manifest: mdesc, Config: cfg, Layers: ChainIDs(cfg.RootFS.DiffIDs)}
	if cfg.Created != nil {
		sum.Created = *cfg.Created
	}
	return sum, m, nil
}
