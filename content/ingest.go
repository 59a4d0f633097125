package content

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// copyBuffer is the chunk Ingest copies in: big enough that syscalls and
// hashing, not loop overhead, set the pace.
const copyBuffer = 1 << 20

// Ingest writes the blob read from r and returns its descriptor (want
// with the actual digest and size). want.Digest and want.Size are checked
// when set; with no digest it is computed. If the blob with want.Digest
// is committed already, r is not read. On any failure nothing is left:
// no blob, no partial data. Each call has its own ingest, so concurrent
// Ingests of one blob all succeed and store it once; resuming needs
// Writer with a stable ref.
func (s *Store) Ingest(ctx context.Context, r io.Reader, want ocispec.Descriptor) (ocispec.Descriptor, error) {
	name := "blob"
	if want.Digest != "" {
		name = string(want.Digest)
	}
	if err := checkWant(want); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("ingest %s: %w", quote(name), err)
	}
	if desc, ok := s.present(want); ok {
		return desc, nil
	}
	w, err := s.Writer(ctx, "ingest-"+tempName()[len(tmpPrefix):], want)
	if errors.Is(err, ErrAlreadyExists) {
		if desc, ok := s.present(want); ok {
			return desc, nil
		}
	}
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("ingest %s: %w", name, err)
	}
	n := copyBuffer
	if want.Size > 0 && want.Size < copyBuffer {
		n = int(want.Size) // a manifest needs no megabyte
	}
	buf := make([]byte, n)
	if _, err := io.CopyBuffer(w, ctxReader{ctx, r}, buf); err != nil {
		w.Abort()
		return ocispec.Descriptor{}, fmt.Errorf("ingest %s: %w", name, err)
	}
	desc, err := w.Commit(ctx)
	if err != nil {
		w.Abort()
		return ocispec.Descriptor{}, fmt.Errorf("ingest %s: %w", name, err)
	}
	return desc, nil
}

// present returns want completed from the store if its blob is committed
// with the expected size.
func (s *Store) present(want ocispec.Descriptor) (ocispec.Descriptor, bool) {
	if want.Digest == "" {
		return ocispec.Descriptor{}, false
	}
	info, err := s.Info(want.Digest)
	if err != nil || (want.Size > 0 && info.Size != want.Size) {
		return ocispec.Descriptor{}, false
	}
	want.Size = info.Size
	return want, true
}

// WriteBlob stores b (a manifest, a config) with the given media type and
// returns its descriptor.
func (s *Store) WriteBlob(ctx context.Context, mediaType string, b []byte) (ocispec.Descriptor, error) {
	return s.Ingest(ctx, bytes.NewReader(b), ocispec.Descriptor{
		MediaType: mediaType,
		Digest:    digest.FromBytes(b),
		Size:      int64(len(b)),
	})
}
