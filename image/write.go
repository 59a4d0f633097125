package image

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth/layer"
)

// WriteLayer stores an uncompressed layer tar as a gzip blob and returns
// its descriptor and its DiffID (the digest of the tar itself). The caller
// holds the content store (content.Store.Hold) until the image that uses
// the blob is tagged.
func (s *Store) WriteLayer(ctx context.Context, tar io.Reader) (ocispec.Descriptor, digest.Digest, error) {
	w, err := s.content.Writer(ctx, "layer-"+randomHex(), ocispec.Descriptor{})
	if err != nil {
		return ocispec.Descriptor{}, "", err
	}
	committed := false
	defer func() {
		if !committed {
			_ = w.Abort()
		}
	}()
	zw, err := layer.CompressStream(w, layer.Gzip)
	if err != nil {
		return ocispec.Descriptor{}, "", err
	}
	diff := sha256.New()
	if _, err := io.Copy(io.MultiWriter(zw, diff), tar); err != nil {
		return ocispec.Descriptor{}, "", fmt.Errorf("write layer: %w", err)
	}
	if err := zw.Close(); err != nil {
		return ocispec.Descriptor{}, "", fmt.Errorf("write layer: %w", err)
	}
	desc, err := w.Commit(ctx)
	if err != nil {
		return ocispec.Descriptor{}, "", err
	}
	committed = true
	desc.MediaType = ocispec.MediaTypeImageLayerGzip
	return desc, digest.NewDigest(digest.SHA256, diff), nil
}

// WriteImage stores cfg and an OCI manifest naming it and layers, and
// returns the manifest's descriptor. cfg.RootFS must list the layers'
// DiffIDs in order.
func (s *Store) WriteImage(ctx context.Context, cfg ocispec.Image, layers []ocispec.Descriptor) (ocispec.Descriptor, error) {
	if len(cfg.RootFS.DiffIDs) != len(layers) {
		return ocispec.Descriptor{}, fmt.Errorf("write image: %d diff IDs for %d layers", len(cfg.RootFS.DiffIDs), len(layers))
	}
	cb, err := json.Marshal(cfg)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("write image config: %w", err)
	}
	cdesc, err := s.content.WriteBlob(ctx, ocispec.MediaTypeImageConfig, cb)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if layers == nil {
		layers = []ocispec.Descriptor{} // "layers": [] as the spec wants
	}
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cdesc, Layers: layers}
	m.SchemaVersion = 2
	mb, err := json.Marshal(m)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("write image manifest: %w", err)
	}
	return s.content.WriteBlob(ctx, ocispec.MediaTypeImageManifest, mb)
}
