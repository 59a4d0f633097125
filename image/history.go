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

// MissingID is what history shows for a step that has no image ID of its
// own, as Docker prints it.
const MissingID = "<missing>"

// HistoryEntry is one row of `berth history`.
type HistoryEntry struct {
	// ID is the image ID on the newest row and MissingID on the others,
	// as Docker shows pulled and imported images.
	ID string
	// Created is when the step ran; zero if the image does not say.
	Created time.Time
	// CreatedBy is the command of the step.
	CreatedBy string
	// Author is the step's author, if recorded.
	Author string
	// Comment is the step's comment (import's and commit's message).
	Comment string
	// Size is the size of the files the step's layer holds: the sum of
	// the sizes of its regular files and symlinks, each hard-linked file
	// once, as Docker computes a layer's size; 0 for an empty layer.
	Size int64
	// EmptyLayer is set for steps that changed only the config.
	EmptyLayer bool
	// Layer is the DiffID of the step's layer; "" for an empty layer.
	Layer digest.Digest
}

// History returns the image's history, newest step first, with the size
// of each step's layer. A config whose history does not match its layers
// (or has none) gives one row per layer instead, with no command.
func (s *Store) History(ctx context.Context, img Image) ([]HistoryEntry, error) {
	m, _, err := s.Manifest(ctx, img)
	if err != nil {
		return nil, err
	}
	cfg, err := s.Config(ctx, m)
	if err != nil {
		return nil, err
	}
	steps := cfg.History
	nonEmpty := 0
	for _, h := range steps {
		if !h.EmptyLayer {
			nonEmpty++
		}
	}
	if nonEmpty != len(m.Layers) {
		steps = make([]ocispec.History, len(m.Layers))
	}
	rows := make([]HistoryEntry, 0, len(steps))
	li := 0
	for _, h := range steps {
		row := HistoryEntry{ID: MissingID, CreatedBy: h.CreatedBy, Author: h.Author, Comment: h.Comment, EmptyLayer: h.EmptyLayer}
		if h.Created != nil {
			row.Created = *h.Created
		}
		if !h.EmptyLayer {
			row.Layer = cfg.RootFS.DiffIDs[li]
			if row.Size, err = s.layerFilesSize(ctx, m.Layers[li]); err != nil {
				return nil, fmt.Errorf("history: layer %s: %w", m.Layers[li].Digest, err)
			}
			li++
		}
		rows = append(rows, row)
	}
	// Newest first, the image's own ID on top.
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	if len(rows) > 0 {
		rows[0].ID = m.Config.Digest.String()
	}
	return rows, nil
}

// layerFilesSize reads a layer blob and adds up the sizes of the files it
// holds (regular files, and symlinks by the length of their target, as
// lstat counts them); hard links are the file they link to.
func (s *Store) layerFilesSize(ctx context.Context, l ocispec.Descriptor) (int64, error) {
	f, err := s.content.Open(l.Digest)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	dr, _, err := layer.DecompressStream(f)
	if err != nil {
		return 0, err
	}
	defer dr.Close()
	tr := tar.NewReader(dr)
	var size int64
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return size, nil
		}
		if err != nil {
			return 0, err
		}
		switch {
		case h.Typeflag == tar.TypeSymlink:
			size += int64(len(h.Linkname))
		case h.Typeflag != tar.TypeLink && h.FileInfo().Mode().IsRegular():
			size += h.Size
		}
	}
}
