// Package overlay is the overlayfs snapshotter: each committed snapshot (an
// image layer, keyed by its chain ID) is stored once and shared by every
// image and container above it; an active snapshot with a parent is an
// overlay of its parents' directories plus its own upper directory.
//
// Layout under root:
//
//	metadata.db                  bbolt: key -> {id, parent, kind, created, labels}
//	snapshots/<id>/fs            the snapshot's own files (its diff)
//	snapshots/<id>/work          overlay's work directory (active only)
//	snapshots/<id>/link          the name of its short link
//	l/<link> -> ../snapshots/<id>/fs
//
// Mounts name lower layers by their short links (as Docker's overlay2
// does), so that when mount(2) must be used and the layer list must fit in
// a page, each layer costs only len(link)+1 bytes (see snapshot.Mounter).
package overlay

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"berth/snapshot"
	"berth/snapshot/internal/base"
	"berth/snapshot/internal/fsutil"
	"berth/snapshot/internal/storage"
)

// linkLen is the length of a short link name: 30 random bits in base32,
// collisions retried. Short enough that MaxLayers lowers given relative to
// <root>/l take 3500 bytes, which with the upper and work directories
// still fits the page mount(2) takes.
const linkLen = 6

// Snapshotter is the overlayfs snapshotter.
type Snapshotter struct {
	b *base.Base
}

var _ snapshot.Snapshotter = (*Snapshotter)(nil)

// New opens (creating if needed) an overlay snapshotter in root. It does
// not check that overlay mounts work here: Check does.
func New(ctx context.Context, root string) (*Snapshotter, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("overlay snapshotter root: %w", err)
	}
	// Overlay's option syntax splits at commas and colons.
	if strings.ContainsAny(root, ",:") {
		return nil, fmt.Errorf("overlay snapshotter root %q: contains ',' or ':', which overlay mount options cannot carry", root)
	}
	if err := os.MkdirAll(filepath.Join(root, "l"), 0o700); err != nil {
		return nil, fmt.Errorf("overlay snapshotter root: %w", err)
	}
	b, err := base.Open(ctx, root)
	if err != nil {
		return nil, err
	}
	return &Snapshotter{b: b}, nil
}

// Prepare creates an active snapshot on parent. Without a parent its mount
// is a read-write bind of its directory; with one, an overlay.
func (s *Snapshotter) Prepare(ctx context.Context, key, parent string, opts ...snapshot.Opt) ([]snapshot.Mount, error) {
	return s.create(ctx, snapshot.KindActive, key, parent, opts)
}

// View creates a read-only snapshot of parent.
func (s *Snapshotter) View(ctx context.Context, key, parent string, opts ...snapshot.Opt) ([]snapshot.Mount, error) {
	return s.create(ctx, snapshot.KindView, key, parent, opts)
}

func (s *Snapshotter) create(ctx context.Context, kind snapshot.Kind, key, parent string, opts []snapshot.Opt) ([]snapshot.Mount, error) {
	var link string
	h := base.Hooks{
		Fill: func(ctx context.Context, dir string, parents []storage.Record) error {
			// The parents are the lowers (the upper does not count).
			if len(parents) > snapshot.MaxLayers {
				return fmt.Errorf("parent %q has %d layers, overlay stacks at most %d: %w", parent, len(parents), snapshot.MaxLayers, snapshot.ErrTooManyLayers)
			}
			if err := os.Mkdir(filepath.Join(dir, "fs"), 0o755); err != nil {
				return err
			}
			if kind == snapshot.KindActive {
				return os.Mkdir(filepath.Join(dir, "work"), 0o700)
			}
			return nil
		},
		Publish: func(id, dir string) error {
			if kind == snapshot.KindActive {
				// Only a parent needs a short link (lowerPath): an active
				// snapshot gets one when it is committed.
				return nil
			}
			var err error
			link, err = s.publishLink(id, dir)
			return err
		},
		Unpublish: func(id, dir string) {
			if link != "" {
				_ = os.Remove(filepath.Join(s.b.Root(), "l", link))
			}
		},
	}
	rec, parents, err := s.b.Create(ctx, kind, key, parent, opts, h)
	if err != nil {
		return nil, err
	}
	return s.mounts(rec, parents)
}

// publishLink makes the short link of snapshot id (directory dir) and
// records its name in dir/link, durably: it is read back after a crash.
func (s *Snapshotter) publishLink(id, dir string) (string, error) {
	link, err := s.makeLink(id)
	if err != nil {
		return "", err
	}
	if err := writeFileSync(filepath.Join(dir, "link"), []byte(link)); err != nil {
		_ = os.Remove(filepath.Join(s.b.Root(), "l", link))
		return "", err
	}
	return link, nil
}

// makeLink creates l/<random> -> ../snapshots/<id>/fs and returns the name.
func (s *Snapshotter) makeLink(id string) (string, error) {
	target := filepath.Join("..", "snapshots", id, "fs")
	for range 16 {
		name, err := randomLink()
		if err != nil {
			return "", err
		}
		err = os.Symlink(target, filepath.Join(s.b.Root(), "l", name))
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("short link: %w", err)
		}
		return name, nil
	}
	return "", errors.New("short link: no free name after 16 tries")
}

func randomLink() (string, error) {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("short link: %w", err)
	}
	return base32.StdEncoding.EncodeToString(b)[:linkLen], nil
}

// writeFileSync writes a small file durably: it is read back after a crash.
func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Mounts returns the mounts of an active or view snapshot.
func (s *Snapshotter) Mounts(ctx context.Context, key string) ([]snapshot.Mount, error) {
	chain, err := s.b.Chain(ctx, key)
	if err != nil {
		return nil, err
	}
	return s.mounts(chain[0], chain[1:])
}

func (s *Snapshotter) fsDir(id string) string {
	return filepath.Join(s.b.Dir(id), "fs")
}

// lowerPath returns the short-link path of a layer, or its fs directory
// if the link is missing (the new mount API does not need it short).
func (s *Snapshotter) lowerPath(id string) string {
	b, err := os.ReadFile(filepath.Join(s.b.Dir(id), "link"))
	if err == nil && len(b) == linkLen {
		p := filepath.Join(s.b.Root(), "l", string(b))
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return s.fsDir(id)
}

func (s *Snapshotter) mounts(rec storage.Record, parents []storage.Record) ([]snapshot.Mount, error) {
	bind := func(dir, mode string) []snapshot.Mount {
		return []snapshot.Mount{{Type: "bind", Source: dir, Options: []string{"rbind", mode}}}
	}
	switch rec.Kind {
	case snapshot.KindActive:
		if len(parents) == 0 {
			return bind(s.fsDir(rec.ID), "rw"), nil
		}
		return []snapshot.Mount{{
			Type:   "overlay",
			Source: "overlay",
			Options: []string{
				"index=off",
				// Keep the upper directory a plain diff that layer.Diff can
				// read (no renamed directories, no metadata-only copies).
				"redirect_dir=off", "metacopy=off",
				"lowerdir=" + s.lowers(parents),
				"upperdir=" + s.fsDir(rec.ID),
				"workdir=" + filepath.Join(s.b.Dir(rec.ID), "work"),
			},
		}}, nil
	case snapshot.KindView:
		switch len(parents) {
		case 0:
			return bind(s.fsDir(rec.ID), "ro"), nil
		case 1:
			// Overlay needs two lowers without an upper directory.
			return bind(s.fsDir(parents[0].ID), "ro"), nil
		}
		return []snapshot.Mount{{
			Type:    "overlay",
			Source:  "overlay",
			Options: []string{"ro", "index=off", "lowerdir=" + s.lowers(parents)},
		}}, nil
	}
	return nil, fmt.Errorf("%w: snapshot %q is %s, only active and view snapshots have mounts", snapshot.ErrInvalid, rec.Key, rec.Kind)
}

func (s *Snapshotter) lowers(parents []storage.Record) string {
	dirs := make([]string, len(parents))
	for i, p := range parents {
		dirs[i] = s.lowerPath(p.ID)
	}
	return snapshot.JoinLowerDirs(dirs)
}

// Remove deletes a snapshot, its directory and its short link.
func (s *Snapshotter) Remove(ctx context.Context, key string) error {
	return s.b.RemoveWith(ctx, key, func(_ storage.Record, dir string) {
		if b, err := os.ReadFile(filepath.Join(dir, "link")); err == nil && len(b) == linkLen {
			_ = os.Remove(filepath.Join(s.b.Root(), "l", string(b)))
		}
	})
}

// Usage returns the size of the snapshot's own diff directory.
func (s *Snapshotter) Usage(ctx context.Context, key string) (snapshot.Usage, error) {
	rec, err := s.b.Get(ctx, key)
	if err != nil {
		return snapshot.Usage{}, err
	}
	size, inodes, err := fsutil.DiskUsage(ctx, s.fsDir(rec.ID))
	if err != nil {
		return snapshot.Usage{}, fmt.Errorf("usage of %q: %w", key, err)
	}
	return snapshot.Usage{Size: size, Inodes: inodes}, nil
}

// Cleanup removes snapshot directories no record names and short links
// whose snapshot is gone.
func (s *Snapshotter) Cleanup(ctx context.Context) error {
	return s.b.CleanupWith(ctx, func(ids map[string]bool) error {
		dir := filepath.Join(s.b.Root(), "l")
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		var errs []error
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			target, err := os.Readlink(p)
			// A link made by makeLink reads ../snapshots/<id>/fs.
			parts := strings.Split(target, "/")
			if err == nil && len(parts) == 4 && parts[0] == ".." && parts[1] == "snapshots" && parts[3] == "fs" && ids[parts[2]] {
				continue
			}
			if err := os.Remove(p); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	})
}

// Stat returns the snapshot's Info.
func (s *Snapshotter) Stat(ctx context.Context, key string) (snapshot.Info, error) {
	return s.b.Stat(ctx, key)
}

// Walk calls fn for every snapshot; fn may call the snapshotter.
func (s *Snapshotter) Walk(ctx context.Context, fn func(snapshot.Info) error) error {
	return s.b.Walk(ctx, fn)
}

// Commit turns the active snapshot key into the committed snapshot name,
// with the short link it needs as a parent.
func (s *Snapshotter) Commit(ctx context.Context, name, key string, opts ...snapshot.Opt) error {
	rec, err := s.b.Get(ctx, key)
	if err != nil {
		return err
	}
	dir := s.b.Dir(rec.ID)
	link := ""
	if b, err := os.ReadFile(filepath.Join(dir, "link")); err != nil || len(b) != linkLen {
		// Made before the commit: a crash in between leaves an active
		// snapshot with a link, which its removal or Cleanup deletes.
		if link, err = s.publishLink(rec.ID, dir); err != nil {
			return fmt.Errorf("commit %q: %w", key, err)
		}
	}
	if err := s.b.Commit(ctx, name, key, opts...); err != nil {
		if link != "" {
			_ = os.Remove(filepath.Join(s.b.Root(), "l", link))
			_ = os.Remove(filepath.Join(dir, "link"))
		}
		return err
	}
	return nil
}

// Close closes the metadata database; a second call returns the first's
// result.
func (s *Snapshotter) Close() error {
	return s.b.Close()
}
