package image

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth/layer"
	"berth/snapshot"
)

// Unpack makes sure every layer of the image (for the store's platform)
// is unpacked into a committed snapshot named by its chain ID, and returns
// the chain ID of the top layer ("" for an image without layers). Layers
// already unpacked, by any image, are not unpacked again.
func (s *Store) Unpack(ctx context.Context, img Image) (digest.Digest, error) {
	m, _, err := s.Manifest(ctx, img)
	if err != nil {
		return "", err
	}
	cfg, err := s.Config(ctx, m)
	if err != nil {
		return "", err
	}
	return s.unpackLayers(ctx, m.Layers, cfg.RootFS.DiffIDs)
}

func (s *Store) unpackLayers(ctx context.Context, layers []ocispec.Descriptor, diffIDs []digest.Digest) (digest.Digest, error) {
	chain := ChainIDs(diffIDs)
	parent := ""
	for i, l := range layers {
		name := chain[i].String()
		if _, err := s.snaps.Stat(ctx, name); err == nil {
			parent = name
			continue
		} else if !errors.Is(err, snapshot.ErrNotFound) {
			return "", err
		}
		if err := s.unpackLayer(ctx, l, diffIDs[i], name, parent); err != nil {
			return "", fmt.Errorf("unpack layer %s: %w", l.Digest, err)
		}
		parent = name
	}
	if len(chain) == 0 {
		return "", nil
	}
	return chain[len(chain)-1], nil
}

// unpackLayer applies one layer blob onto parent and commits it as name.
// The tar is applied straight into the new snapshot's directory: the
// upper directory of an overlay (whiteouts become overlay whiteouts), or
// the full copy a bind mount shows (whiteouts delete).
func (s *Store) unpackLayer(ctx context.Context, l ocispec.Descriptor, diffID digest.Digest, name, parent string) (err error) {
	key := "extract-" + randomHex() + "-" + name
	mounts, err := s.snaps.Prepare(ctx, key, parent, snapshot.WithLabels(map[string]string{"berth.extract": name}))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			if rerr := s.snaps.Remove(context.WithoutCancel(ctx), key); rerr != nil {
				s.log.Warn("remove unfinished layer snapshot", "key", key, "error", rerr)
			}
		}
	}()
	dir, whiteouts, err := applyTarget(mounts)
	if err != nil {
		return err
	}
	f, err := s.content.Open(l.Digest)
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := layer.Apply(ctx, dir, f, layer.ApplyOptions{Whiteouts: whiteouts, Logger: s.log})
	if err != nil {
		return err
	}
	if res.DiffID != diffID {
		return fmt.Errorf("uncompressed digest %s, the image config says %s", res.DiffID, diffID)
	}
	if err := s.snaps.Commit(ctx, name, key); err != nil {
		if errors.Is(err, snapshot.ErrExists) {
			// Another process unpacked the same layer meanwhile.
			return s.snaps.Remove(ctx, key)
		}
		return err
	}
	return nil
}

// applyTarget tells where and how a layer is applied into a prepared
// snapshot, from the mounts the snapshotter returned (snapshot package
// doc: a single bind mount, or an overlay with an upperdir).
func applyTarget(mounts []snapshot.Mount) (string, layer.Whiteouts, error) {
	if len(mounts) == 1 {
		m := mounts[0]
		switch {
		case m.Type == "bind":
			return m.Source, layer.WhiteoutsMerge, nil
		case m.Type == "overlay" && m.UpperDir() != "":
			return m.UpperDir(), layer.WhiteoutsOverlay, nil
		}
	}
	return "", 0, fmt.Errorf("cannot apply a layer to mounts %+v", mounts)
}

func randomHex() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
