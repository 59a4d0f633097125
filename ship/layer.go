package ship

import (
	"errors"
	"io"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth/content"
)

// storeBlob is a blob of the content store as go-containerregistry's
// v1.Layer, for its uploader: the compressed bytes as stored, nothing
// recomputed. It records whether the uploader read it (a blob the
// registry had, or mounted, is never opened).
type storeBlob struct {
	cs     *content.Store
	desc   ocispec.Descriptor
	bar    blobBar
	opened atomic.Bool
}

var _ v1.Layer = (*storeBlob)(nil)

// Digest is the blob's digest, as stored.
func (b *storeBlob) Digest() (v1.Hash, error) { return v1.NewHash(b.desc.Digest.String()) }

// DiffID is not needed to upload a blob.
func (b *storeBlob) DiffID() (v1.Hash, error) {
	return v1.Hash{}, errors.New("diff ID of a stored blob is not known here")
}

// Compressed opens the stored bytes, reporting progress as they are read.
func (b *storeBlob) Compressed() (io.ReadCloser, error) {
	f, err := b.cs.Open(b.desc.Digest)
	if err != nil {
		return nil, err
	}
	if b.opened.Swap(true) {
		b.bar.resumed(0) // a retried upload starts again
	}
	return struct {
		io.Reader
		io.Closer
	}{progressReader{r: f, bar: b.bar}, f}, nil
}

// Uncompressed is not needed to upload a blob.
func (b *storeBlob) Uncompressed() (io.ReadCloser, error) {
	return nil, errors.New("uncompressed stream of a stored blob is not provided")
}

// Size is the blob's size, as its descriptor says.
func (b *storeBlob) Size() (int64, error) { return b.desc.Size, nil }

// MediaType is the blob's media type, as its descriptor says.
func (b *storeBlob) MediaType() (types.MediaType, error) {
	return types.MediaType(b.desc.MediaType), nil
}

// rawManifest is a manifest or index to PUT as is: its exact bytes, so
// its digest is the one berth has.
type rawManifest struct {
	b  []byte
	mt string
}

// RawManifest is the document, byte for byte.
func (r rawManifest) RawManifest() ([]byte, error) { return r.b, nil }

// MediaType is the document's media type, sent as Content-Type.
func (r rawManifest) MediaType() (types.MediaType, error) { return types.MediaType(r.mt), nil }
