package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth/layer"
	"berth/snapshot"
)

// emptyTarDiffID is the DiffID of a tar with no entries (1024 zero
// bytes): a commit without changes, which Docker records as an empty
// layer rather than a layer.
const emptyTarDiffID = digest.Digest("sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef")

// CommitOptions tune Commit.
type CommitOptions struct {
	// Ref names the new image; "" leaves it untagged.
	Ref string
	// Author is the image's author (--author).
	Author string
	// Message is the history comment (--message).
	Message string
	// Changes are Dockerfile instructions applied to the config
	// (--change).
	Changes []string
	// Config is the container's configuration to start from (Docker
	// commits the container's Cmd, Env, ...); nil means the base image's.
	Config *ocispec.ImageConfig
	// CreatedBy is the history's "created by": the container's command.
	CreatedBy string
	// Created is the image's creation time; zero means now.
	Created time.Time
}

// Commit makes a new image of the rootfs key: the base image's layers
// plus one layer holding the changes made in the rootfs (none when there
// are no changes, as Docker marks an empty layer), a config that is the
// base's (or o.Config) with o.Changes applied, and a history entry. The
// layer is reproducible: the same changes give the same layer digest.
// The caller pauses the container meanwhile, if it runs (Docker's
// --pause), so that the layer is a consistent picture.
func (s *Store) Commit(ctx context.Context, key string, o CommitOptions) (Image, digest.Digest, error) {
	img, id, err := s.commit(ctx, key, o)
	if err != nil {
		return Image{}, "", fmt.Errorf("commit %s: %w", key, err)
	}
	return img, id, nil
}

func (s *Store) commit(ctx context.Context, key string, o CommitOptions) (Image, digest.Digest, error) {
	ref, err := parseNewRef(o.Ref)
	if err != nil {
		return Image{}, "", err
	}
	changes, err := ParseChanges(o.Changes)
	if err != nil {
		return Image{}, "", err
	}
	release, err := s.content.Hold(ctx)
	if err != nil {
		return Image{}, "", err
	}
	defer release()
	base, cfg, err := s.rootfsBase(ctx, key)
	if err != nil {
		return Image{}, "", err
	}
	desc, diffID, err := s.writeRootfsLayer(ctx, key)
	if err != nil {
		return Image{}, "", err
	}
	created := o.Created.UTC()
	if o.Created.IsZero() {
		created = time.Now().UTC()
	}
	cfg.Created = &created
	cfg.Author = o.Author
	if o.Config != nil {
		cfg.Config = *o.Config
	}
	if err := ApplyChanges(&cfg.Config, changes); err != nil {
		return Image{}, "", err
	}
	empty := diffID == emptyTarDiffID
	cfg.History = append(append([]ocispec.History{}, cfg.History...), ocispec.History{
		Created: &created, CreatedBy: o.CreatedBy, Author: o.Author, Comment: o.Message, EmptyLayer: empty,
	})
	layers := append([]ocispec.Descriptor{}, base.Layers...)
	cfg.RootFS.DiffIDs = append([]digest.Digest{}, cfg.RootFS.DiffIDs...)
	if !empty {
		layers = append(layers, desc)
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, diffID)
	}
	return s.finishImage(ctx, cfg, layers, ref)
}

// rootfsBase returns the manifest and config of the image the rootfs
// key was made from. The record holds the image's name and ID: the name
// is tried first, then any image with that ID (the name may have moved).
func (s *Store) rootfsBase(ctx context.Context, key string) (ocispec.Manifest, ocispec.Image, error) {
	rec, err := s.rootfsRecord(ctx, key)
	if err != nil {
		return ocispec.Manifest{}, ocispec.Image{}, err
	}
	var candidates []Image
	if ref, err := ParseRef(rec.Image); err == nil {
		if img, err := s.Get(ctx, ref); err == nil {
			candidates = append(candidates, img)
		}
	}
	all, err := s.List(ctx)
	if err != nil {
		return ocispec.Manifest{}, ocispec.Image{}, err
	}
	candidates = append(candidates, all...)
	for _, img := range candidates {
		m, _, err := s.Manifest(ctx, img)
		if err != nil || m.Config.Digest.String() != rec.ImageID {
			continue
		}
		cfg, err := s.Config(ctx, m)
		if err != nil {
			return ocispec.Manifest{}, ocispec.Image{}, err
		}
		return m, cfg, nil
	}
	return ocispec.Manifest{}, ocispec.Image{}, fmt.Errorf("base image %s (%s): %w", rec.Image, rec.ImageID, ErrNotFound)
}

// rootfsRecord returns the record of the rootfs key.
func (s *Store) rootfsRecord(ctx context.Context, key string) (Rootfs, error) {
	all, err := s.Rootfses(ctx)
	if err != nil {
		return Rootfs{}, err
	}
	for _, r := range all {
		if r.Key == key {
			return r, nil
		}
	}
	return Rootfs{}, fmt.Errorf("rootfs %s: %w", key, snapshot.ErrNotFound)
}

// writeRootfsLayer stores the changes of the rootfs key as a layer: the
// overlay upper directory as it is (layer.Diff), or for a copy-based
// rootfs the difference from its parent (layer.DiffDirs). The tar goes
// through a pipe straight into the content store.
func (s *Store) writeRootfsLayer(ctx context.Context, key string) (ocispec.Descriptor, digest.Digest, error) {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := s.rootfsChanges(ctx, key, func(upper string, _ []string) error {
			return layer.Diff(ctx, pw, upper, layer.DiffOptions{})
		}, func(parent, dir string) error {
			return layer.DiffDirs(ctx, pw, parent, dir, layer.DiffOptions{})
		})
		pw.CloseWithError(err)
		done <- err
	}()
	desc, diffID, err := s.WriteLayer(ctx, pr)
	pr.CloseWithError(errOr(err, io.ErrClosedPipe))
	if gerr := <-done; gerr != nil {
		return ocispec.Descriptor{}, "", gerr
	}
	return desc, diffID, err
}

// Diff lists the changes made in the rootfs key to its image's files,
// as `docker diff` does: A(dded), C(hanged), D(eleted), sorted by path.
func (s *Store) Diff(ctx context.Context, key string) ([]layer.Change, error) {
	var out []layer.Change
	err := s.rootfsChanges(ctx, key, func(upper string, lowers []string) (err error) {
		out, err = layer.Changes(ctx, upper, lowers)
		return err
	}, func(parent, dir string) (err error) {
		out, err = layer.ChangesDirs(ctx, parent, dir)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("diff %s: %w", key, err)
	}
	return out, nil
}

// rootfsChanges calls overlay with the upper and lower directories of an
// overlay rootfs, or copy with its parent's tree (an empty directory for
// none) and its own tree for one that is a whole copy.
func (s *Store) rootfsChanges(ctx context.Context, key string,
	overlay func(upper string, lowers []string) error, copy func(parent, dir string) error) error {
	mounts, err := s.RootfsMounts(ctx, key)
	if err != nil {
		return err
	}
	if len(mounts) != 1 {
		return fmt.Errorf("rootfs %s has %d mounts, want one", key, len(mounts))
	}
	m := mounts[0]
	switch {
	case m.Type == "overlay" && m.UpperDir() != "":
		return overlay(m.UpperDir(), m.LowerDirs())
	case m.Type == "bind":
	default:
		return fmt.Errorf("rootfs %s: cannot find the changes of a %q mount", key, m.Type)
	}
	info, err := s.snaps.Stat(ctx, key)
	if err != nil {
		return err
	}
	return s.withSnapshotTree(ctx, info.Parent, func(parent string) error {
		return copy(parent, m.Source)
	})
}

// withSnapshotTree calls fn with the tree of the committed snapshot
// name, through a temporary view ("" gives an empty directory). The
// content store is held meanwhile so that a garbage collection does not
// remove the view's parent under it.
func (s *Store) withSnapshotTree(ctx context.Context, name string, fn func(dir string) error) (err error) {
	if name == "" {
		return withEmptyDir(fn)
	}
	release, err := s.content.Hold(ctx)
	if err != nil {
		return err
	}
	defer release()
	vkey := "view-" + randomHex()
	mounts, err := s.snaps.View(ctx, vkey, name, snapshot.WithLabels(map[string]string{"berth.view": name}))
	if err != nil {
		return err
	}
	defer func() {
		if rerr := s.snaps.Remove(context.WithoutCancel(ctx), vkey); rerr != nil && !errors.Is(rerr, snapshot.ErrNotFound) {
			err = errors.Join(err, fmt.Errorf("remove view %s: %w", vkey, rerr))
		}
	}()
	return withTree(mounts, fn)
}
