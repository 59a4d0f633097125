package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth/layer"
)

// ImportOptions tune Import.
type ImportOptions struct {
	// Ref names the new image; "" leaves it untagged, as `docker import`
	// without a name does.
	Ref string
	// Changes are Dockerfile instructions applied to the empty config
	// (--change).
	Changes []string
	// Message is the history comment; "" means "Imported from " + Source.
	Message string
	// Source is what the tar came from ("-" for standard input, a file
	// or URL), for the default Message.
	Source string
	// Platform is the image's platform; zero means the store's.
	Platform ocispec.Platform
	// Created is the image's creation time; zero means now. A fixed time
	// makes importing the same tar twice give the same image ID.
	Created time.Time
}

// Import stores a root filesystem tarball (plain, gzip or zstd) read from
// r as a one-layer image, and tags it when o.Ref is set. The tar is
// checked and unpacked before the name is recorded, so a broken tar
// leaves no image; Import returns the image (its Name is zero when
// untagged) and its ID.
func (s *Store) Import(ctx context.Context, r io.Reader, o ImportOptions) (Image, digest.Digest, error) {
	ref, err := parseNewRef(o.Ref)
	if err != nil {
		return Image{}, "", fmt.Errorf("import: %w", err)
	}
	changes, err := ParseChanges(o.Changes)
	if err != nil {
		return Image{}, "", fmt.Errorf("import: %w", err)
	}
	created := o.Created.UTC()
	if o.Created.IsZero() {
		created = time.Now().UTC()
	}
	platform := o.Platform
	if platform.OS == "" {
		platform = s.platform
	}
	comment := o.Message
	if comment == "" {
		src := o.Source
		if src == "" {
			src = "-"
		}
		comment = "Imported from " + src
	}
	cfg := ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{OS: platform.OS, Architecture: platform.Architecture, Variant: platform.Variant},
		History:  []ocispec.History{{Created: &created, Comment: comment}},
	}
	if err := ApplyChanges(&cfg.Config, changes); err != nil {
		return Image{}, "", fmt.Errorf("import: %w", err)
	}
	img, id, err := s.importLayer(ctx, r, cfg, ref)
	if err != nil {
		return Image{}, "", fmt.Errorf("import: %w", err)
	}
	return img, id, nil
}

// parseNewRef parses the name a new image gets ("" for none); a digest
// cannot name what is being made.
func parseNewRef(s string) (Ref, error) {
	if s == "" {
		return Ref{}, nil
	}
	ref, err := ParseRef(s)
	if err != nil {
		return Ref{}, err
	}
	if ref.Digest() != "" {
		return Ref{}, fmt.Errorf("image reference %q: a new image cannot be named by digest", s)
	}
	return ref, nil
}

// importLayer stores the tar read from r as the only layer of an image
// with config cfg (its RootFS is filled in) and records it as ref.
func (s *Store) importLayer(ctx context.Context, r io.Reader, cfg ocispec.Image, ref Ref) (Image, digest.Digest, error) {
	release, err := s.content.Hold(ctx)
	if err != nil {
		return Image{}, "", err
	}
	defer release()
	desc, diffID, err := s.writeCheckedLayer(ctx, r)
	if err != nil {
		return Image{}, "", err
	}
	cfg.RootFS = ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}}
	return s.finishImage(ctx, cfg, []ocispec.Descriptor{desc}, ref)
}

// writeCheckedLayer decompresses r and stores it with WriteLayer while
// reading it as a tar, so that what is not a tar fails here rather than
// at the first run.
func (s *Store) writeCheckedLayer(ctx context.Context, r io.Reader) (ocispec.Descriptor, digest.Digest, error) {
	dr, _, err := layer.DecompressStream(r)
	if err != nil {
		return ocispec.Descriptor{}, "", err
	}
	defer dr.Close()
	pr, pw := io.Pipe()
	type result struct {
		desc   ocispec.Descriptor
		diffID digest.Digest
		err    error
	}
	done := make(chan result, 1)
	go func() {
		desc, diffID, err := s.WriteLayer(ctx, pr)
		// Unblock the reader below if WriteLayer stopped early.
		pr.CloseWithError(errOr(err, io.ErrClosedPipe))
		done <- result{desc, diffID, err}
	}()
	terr := readTar(ctx, io.TeeReader(dr, pw))
	pw.CloseWithError(terr) // nil: EOF, WriteLayer finishes
	res := <-done
	if res.err != nil && (terr == nil || errors.Is(terr, res.err)) {
		return ocispec.Descriptor{}, "", res.err
	}
	if terr != nil {
		return ocispec.Descriptor{}, "", fmt.Errorf("read tar: %w", terr)
	}
	return res.desc, res.diffID, res.err
}

// readTar reads a whole tar stream, padding after the end included.
func readTar(ctx context.Context, r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return fmt.Errorf("entry %q: %w", h.Name, err)
		}
	}
	_, err := io.Copy(io.Discard, r)
	return err
}

func errOr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

// finishImage writes cfg and a manifest of layers, unpacks the image (so
// that a layer that cannot be unpacked fails now, and the first run is
// quick) and tags it as ref when ref is set. The caller holds the content
// store.
func (s *Store) finishImage(ctx context.Context, cfg ocispec.Image, layers []ocispec.Descriptor, ref Ref) (Image, digest.Digest, error) {
	target, err := s.WriteImage(ctx, cfg, layers)
	if err != nil {
		return Image{}, "", err
	}
	img := Image{Name: ref, Target: target, Created: time.Now().UTC()}
	m, _, err := s.Manifest(ctx, img)
	if err != nil {
		return Image{}, "", err
	}
	if _, err := s.Unpack(ctx, img); err != nil {
		return Image{}, "", err
	}
	// Without a name the image is recorded as a dangling one.
	if err := s.Tag(ctx, ref, target); err != nil {
		return Image{}, "", err
	}
	if ref.String() != "" {
		if img, err = s.Get(ctx, ref); err != nil {
			return Image{}, "", err
		}
	}
	return img, m.Config.Digest, nil
}
