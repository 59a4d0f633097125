package image

import (
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Docker's schema2 media types, read and written beside the OCI ones.
const (
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeDockerConfig       = "application/vnd.docker.container.image.v1+json"
	MediaTypeDockerLayer        = "application/vnd.docker.image.rootfs.diff.tar"
	MediaTypeDockerLayerGzip    = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	MediaTypeDockerLayerZstd    = "application/vnd.docker.image.rootfs.diff.tar.zstd"
	MediaTypeDockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
)

// IsManifest tells whether mt is a single-platform image manifest type.
func IsManifest(mt string) bool {
	return mt == ocispec.MediaTypeImageManifest || mt == MediaTypeDockerManifest
}

// IsIndex tells whether mt is a multi-platform index or manifest list.
func IsIndex(mt string) bool {
	return mt == ocispec.MediaTypeImageIndex || mt == MediaTypeDockerManifestList
}

// IsConfig tells whether mt is an image configuration type.
func IsConfig(mt string) bool {
	return mt == ocispec.MediaTypeImageConfig || mt == MediaTypeDockerConfig
}

// IsLayer tells whether mt is a layer type berth can unpack.
func IsLayer(mt string) bool {
	switch mt {
	case ocispec.MediaTypeImageLayer, ocispec.MediaTypeImageLayerGzip, ocispec.MediaTypeImageLayerZstd,
		ocispec.MediaTypeImageLayerNonDistributable, ocispec.MediaTypeImageLayerNonDistributableGzip, //nolint:staticcheck // still found in images
		ocispec.MediaTypeImageLayerNonDistributableZstd, //nolint:staticcheck
		MediaTypeDockerLayer, MediaTypeDockerLayerGzip, MediaTypeDockerLayerZstd, MediaTypeDockerForeignLayer:
		return true
	}
	return false
}
