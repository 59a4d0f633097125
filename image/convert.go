package image

import (
	"context"
	"encoding/json"
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// dockerLayerType maps an OCI layer media type to Docker's schema2 one.
func dockerLayerType(mt string) (string, error) {
	switch mt {
	case ocispec.MediaTypeImageLayerGzip, MediaTypeDockerLayerGzip:
		return MediaTypeDockerLayerGzip, nil
	case ocispec.MediaTypeImageLayer, MediaTypeDockerLayer:
		return MediaTypeDockerLayer, nil
	case ocispec.MediaTypeImageLayerZstd, MediaTypeDockerLayerZstd:
		return MediaTypeDockerLayerZstd, nil
	case MediaTypeDockerForeignLayer:
		return mt, nil
	}
	return "", fmt.Errorf("layer media type %q has no Docker schema2 equivalent", mt)
}

// WriteDockerManifest stores the image's manifest (for the store's
// platform) in Docker's schema2 form, for registries and tools that take
// nothing else, and returns its descriptor. The config and layer blobs are
// the same bytes under Docker's media types, so the image ID (the config's
// digest) does not change.
func (s *Store) WriteDockerManifest(ctx context.Context, img Image) (ocispec.Descriptor, error) {
	m, _, err := s.Manifest(ctx, img)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	out := ocispec.Manifest{MediaType: MediaTypeDockerManifest, Config: m.Config}
	out.SchemaVersion = 2
	out.Config.MediaType = MediaTypeDockerConfig
	for _, l := range m.Layers {
		mt, err := dockerLayerType(l.MediaType)
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		l.MediaType = mt
		out.Layers = append(out.Layers, l)
	}
	if out.Layers == nil {
		out.Layers = []ocispec.Descriptor{}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	return s.content.WriteBlob(ctx, MediaTypeDockerManifest, b)
}
