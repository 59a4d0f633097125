package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	bolt "go.etcd.io/bbolt"

	"berth/content"
	"berth/snapshot"
	"berth/snapshot/auto"
)

// ErrNotFound says no image has the name or ID asked for.
var ErrNotFound = errors.New("no such image")

// ErrInUse says a container's rootfs uses the image.
var ErrInUse = errors.New("image is in use by a container")

// Options configure Open.
type Options struct {
	// Snapshotter is "overlay", "native" or "" to choose (see
	// snapshot/auto).
	Snapshotter string
	// Platform is the platform images are selected for; zero means the
	// host's.
	Platform ocispec.Platform
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Store is berth's image store under one root directory:
//
//	<root>/content      blobs (package content, OCI image-layout)
//	<root>/snapshots    unpacked layers and container rootfs (package snapshot)
//	<root>/images.db    references and rootfs records (bbolt)
//
// Several processes may use one root at once.
type Store struct {
	root     string
	content  *content.Store
	snaps    snapshot.Snapshotter
	snapName string
	meta     meta
	platform ocispec.Platform
	log      *slog.Logger
}

// Open opens (creating if needed) the image store under root.
func Open(ctx context.Context, root string, o Options) (*Store, error) {
	if err := os.MkdirAll(root, 0o711); err != nil {
		return nil, fmt.Errorf("image store %s: %w", root, err)
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	cs, err := content.Open(filepath.Join(root, "content"), content.WithLogger(log))
	if err != nil {
		return nil, err
	}
	snaps, name, err := auto.New(ctx, filepath.Join(root, "snapshots"), o.Snapshotter)
	if err != nil {
		return nil, err
	}
	s := &Store{
		root: root, content: cs, snaps: snaps, snapName: name,
		meta: newMeta(filepath.Join(root, "images.db")), platform: o.Platform, log: log,
	}
	if s.platform.OS == "" {
		s.platform = HostPlatform()
	}
	return s, nil
}

// Close releases the snapshotter.
func (s *Store) Close() error { return s.snaps.Close() }

// Root is the store's directory.
func (s *Store) Root() string { return s.root }

// Content is the blob store.
func (s *Store) Content() *content.Store { return s.content }

// Snapshots is the snapshotter and its name.
func (s *Store) Snapshots() (snapshot.Snapshotter, string) { return s.snaps, s.snapName }

// Image is an image in the store: a name (zero for an image without one,
// which Docker calls dangling and shows as <none>) and the manifest or
// index it points at.
type Image struct {
	Name    Ref
	Target  ocispec.Descriptor
	Created time.Time
}

// Dangling tells whether the image has no name.
func (i Image) Dangling() bool { return i.Name.IsZero() }

// displayName is the image's familiar name, or its manifest digest when it
// has none.
func displayName(i Image) string {
	if i.Dangling() {
		return "<none>@" + i.Target.Digest.String()
	}
	return i.Name.Familiar()
}

// Tag points name at target (a manifest or an index already in the
// content store), replacing what it pointed at; a zero name records target
// as an image without a name. An image that loses its last name this way
// (a newer build or pull took its tag) stays, without a name, as Docker's
// do, until `image prune`.
func (s *Store) Tag(ctx context.Context, name Ref, target ocispec.Descriptor) error {
	return s.TagAll(ctx, []Image{{Name: name, Target: target}})
}

// TagAll records several names in one transaction: all or none.
func (s *Store) TagAll(ctx context.Context, imgs []Image) error {
	for _, img := range imgs {
		if !IsManifest(img.Target.MediaType) && !IsIndex(img.Target.MediaType) {
			return fmt.Errorf("tag %s: target %s is a %q, not a manifest or index", displayName(img), img.Target.Digest, img.Target.MediaType)
		}
		if !s.content.Exists(img.Target.Digest) {
			return fmt.Errorf("tag %s: %s: %w", displayName(img), img.Target.Digest, content.ErrNotFound)
		}
	}
	now := time.Now().UTC()
	return s.meta.update(func(tx *bolt.Tx) error {
		for _, img := range imgs {
			if err := tagTx(tx, img.Name, imageRecord{Target: img.Target, Created: now}); err != nil {
				return err
			}
		}
		return nil
	})
}

func tagTx(tx *bolt.Tx, name Ref, rec imageRecord) error {
	d := rec.Target.Digest
	if name.IsZero() {
		if namedTarget(tx, d, "") {
			return nil
		}
		return putJSON(tx, bucketDangling, d.String(), rec)
	}
	var old imageRecord
	if err := getJSON(tx, bucketImages, name.String(), &old); err == nil &&
		old.Target.Digest != d && !namedTarget(tx, old.Target.Digest, name.String()) {
		if err := putJSON(tx, bucketDangling, old.Target.Digest.String(), old); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bucketDangling).Delete([]byte(d.String())); err != nil {
		return err
	}
	return putJSON(tx, bucketImages, name.String(), rec)
}

// namedTarget tells whether a name other than except points at d.
func namedTarget(tx *bolt.Tx, d digest.Digest, except string) bool {
	found := false
	_ = tx.Bucket(bucketImages).ForEach(func(k, v []byte) error {
		var rec imageRecord
		if string(k) != except && json.Unmarshal(v, &rec) == nil && rec.Target.Digest == d {
			found = true
		}
		return nil
	})
	return found
}

// List returns every image: the named ones sorted by name, then those
// without a name.
func (s *Store) List(ctx context.Context) ([]Image, error) {
	var out, dangling []Image
	err := s.meta.view(func(tx *bolt.Tx) error {
		err := tx.Bucket(bucketImages).ForEach(func(k, v []byte) error {
			var rec imageRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("metadata images/%s: %w", k, err)
			}
			ref, err := ParseRef(string(k))
			if err != nil {
				return fmt.Errorf("metadata: bad reference %q: %w", k, err)
			}
			out = append(out, Image{Name: ref, Target: rec.Target, Created: rec.Created})
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketDangling).ForEach(func(k, v []byte) error {
			var rec imageRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("metadata dangling/%s: %w", k, err)
			}
			dangling = append(dangling, Image{Target: rec.Target, Created: rec.Created})
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name.String() < out[j].Name.String() })
	sort.Slice(dangling, func(i, j int) bool { return dangling[i].Created.After(dangling[j].Created) })
	return append(out, dangling...), err
}

// Get returns the image named name.
func (s *Store) Get(ctx context.Context, name Ref) (Image, error) {
	var rec imageRecord
	err := s.meta.view(func(tx *bolt.Tx) error {
		return getJSON(tx, bucketImages, name.String(), &rec)
	})
	if errors.Is(err, errNoRecord) {
		return Image{}, fmt.Errorf("%s: %w", name.Familiar(), ErrNotFound)
	}
	if err != nil {
		return Image{}, err
	}
	return Image{Name: name, Target: rec.Target, Created: rec.Created}, nil
}

// Resolve finds an image as a user names it: a reference, or an image ID
// (its config digest, or a unique hex prefix of at least 3 digits, as
// `docker rmi 3f4a` takes). For an ID every image with that ID is
// returned.
func (s *Store) Resolve(ctx context.Context, arg string) ([]Image, error) {
	if IsDigestLike(arg) {
		imgs, err := s.List(ctx)
		if err != nil {
			return nil, err
		}
		prefix := "sha256:" + strings.TrimPrefix(arg, "sha256:")
		var found []Image
		ids := map[digest.Digest]bool{}
		for _, img := range imgs {
			id, err := s.ID(ctx, img)
			if err != nil {
				continue
			}
			if strings.HasPrefix(id.String(), prefix) {
				found = append(found, img)
				ids[id] = true
			}
		}
		if len(ids) > 1 {
			return nil, fmt.Errorf("image ID prefix %q is ambiguous", arg)
		}
		if len(found) > 0 {
			return found, nil
		}
	}
	ref, err := ParseRef(arg)
	if err != nil {
		return nil, err
	}
	img, err := s.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	return []Image{img}, nil
}

// Untag removes the name, or for an image without a name its record;
// the content stays until garbage collection.
func (s *Store) Untag(ctx context.Context, img Image) error {
	return s.meta.update(func(tx *bolt.Tx) error {
		b, key := tx.Bucket(bucketImages), img.Name.String()
		if img.Dangling() {
			b, key = tx.Bucket(bucketDangling), img.Target.Digest.String()
		}
		if b.Get([]byte(key)) == nil {
			return fmt.Errorf("%s: %w", img.Name.Familiar(), ErrNotFound)
		}
		return b.Delete([]byte(key))
	})
}

// readJSONBlob reads a small blob and checks it is the size its
// descriptor says.
func (s *Store) readBlob(d ocispec.Descriptor) ([]byte, error) {
	b, err := s.content.ReadBlob(d.Digest, MaxManifestSize)
	if err != nil {
		return nil, err
	}
	if d.Size != 0 && int64(len(b)) != d.Size {
		return nil, fmt.Errorf("blob %s: %d bytes, its descriptor says %d", d.Digest, len(b), d.Size)
	}
	return b, nil
}

// Manifest returns the image's manifest for the store's platform,
// following an index, and the manifest's descriptor.
func (s *Store) Manifest(ctx context.Context, img Image) (ocispec.Manifest, ocispec.Descriptor, error) {
	return s.manifestFor(ctx, img.Target, s.platform)
}

func (s *Store) manifestFor(ctx context.Context, d ocispec.Descriptor, p ocispec.Platform) (ocispec.Manifest, ocispec.Descriptor, error) {
	for depth := 0; ; depth++ {
		if depth > 4 {
			return ocispec.Manifest{}, d, fmt.Errorf("manifest %s: indexes nested too deep", d.Digest)
		}
		b, err := s.readBlob(d)
		if err != nil {
			return ocispec.Manifest{}, d, err
		}
		if IsIndex(d.MediaType) {
			idx, err := DecodeIndex(b, d.MediaType)
			if err != nil {
				return ocispec.Manifest{}, d, fmt.Errorf("index %s: %w", d.Digest, err)
			}
			if d, err = SelectManifest(idx, p); err != nil {
				return ocispec.Manifest{}, d, fmt.Errorf("index %s: %w", d.Digest, err)
			}
			if d.MediaType == "" {
				d.MediaType = ocispec.MediaTypeImageManifest
			}
			continue
		}
		m, err := DecodeManifest(b, d.MediaType)
		if err != nil {
			return m, d, fmt.Errorf("manifest %s: %w", d.Digest, err)
		}
		return m, d, nil
	}
}

// Config returns the image configuration a manifest names.
func (s *Store) Config(ctx context.Context, m ocispec.Manifest) (ocispec.Image, error) {
	b, err := s.readBlob(m.Config)
	if err != nil {
		return ocispec.Image{}, err
	}
	c, err := DecodeConfig(b)
	if err != nil {
		return c, fmt.Errorf("config %s: %w", m.Config.Digest, err)
	}
	if len(c.RootFS.DiffIDs) != len(m.Layers) {
		return c, fmt.Errorf("config %s: %d diff_ids for %d layers", m.Config.Digest, len(c.RootFS.DiffIDs), len(m.Layers))
	}
	return c, nil
}

// ID is the image's ID as Docker shows it: its config's digest.
func (s *Store) ID(ctx context.Context, img Image) (digest.Digest, error) {
	m, _, err := s.Manifest(ctx, img)
	if err != nil {
		return "", err
	}
	return m.Config.Digest, nil
}
