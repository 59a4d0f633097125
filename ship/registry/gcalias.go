package registry

import (
	"context"

	"github.com/distribution/distribution/v3"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Distribution's mark and sweep marks the digests manifests name and
// sweeps the blob store, which holds sha256 paths only: content named by
// sha512 would be swept while in use. GC therefore hands it a view of the
// registry whose manifests also name the sha256 digest of every sha512
// reference (from the aliases), so both are marked.

// gcNamespace is the registry as GC's mark phase sees it.
type gcNamespace struct {
	distribution.Namespace
	al aliases
}

// Enumerate implements distribution.RepositoryEnumerator, which mark and
// sweep requires.
func (n gcNamespace) Enumerate(ctx context.Context, ingester func(string) error) error {
	enum, ok := n.Namespace.(distribution.RepositoryEnumerator)
	if !ok {
		return errNotEnumerable
	}
	return enum.Enumerate(ctx, ingester)
}

func (n gcNamespace) Repository(ctx context.Context, name reference.Named) (distribution.Repository, error) {
	r, err := n.Namespace.Repository(ctx, name)
	if err != nil {
		return nil, err
	}
	return gcRepository{Repository: r, al: n.al}, nil
}

type gcRepository struct {
	distribution.Repository
	al aliases
}

func (r gcRepository) Manifests(ctx context.Context, options ...distribution.ManifestServiceOption) (distribution.ManifestService, error) {
	ms, err := r.Repository.Manifests(ctx, options...)
	if err != nil {
		return nil, err
	}
	return gcManifests{ManifestService: ms, al: r.al}, nil
}

// Blobs lists each linked blob once: a blob uploaded by its sha512 digest
// has two links, both naming its sha256 digest, and unlinking it twice
// would fail the sweep.
func (r gcRepository) Blobs(ctx context.Context) distribution.BlobStore {
	return gcBlobs{BlobStore: r.Repository.Blobs(ctx)}
}

type gcBlobs struct{ distribution.BlobStore }

// Enumerate implements distribution.ManifestEnumerator, which mark and
// sweep uses to list a repository's blob links.
func (b gcBlobs) Enumerate(ctx context.Context, ingester func(digest.Digest) error) error {
	enum, ok := b.BlobStore.(distribution.ManifestEnumerator)
	if !ok {
		return errNotEnumerable
	}
	return enumerateOnce(ctx, enum, ingester)
}

// enumerateOnce calls ingester once per digest enum yields.
func enumerateOnce(ctx context.Context, enum distribution.ManifestEnumerator, ingester func(digest.Digest) error) error {
	seen := map[digest.Digest]bool{}
	return enum.Enumerate(ctx, func(d digest.Digest) error {
		if seen[d] {
			return nil
		}
		seen[d] = true
		return ingester(d)
	})
}

type gcManifests struct {
	distribution.ManifestService
	al aliases
}

// Enumerate implements distribution.ManifestEnumerator, each manifest
// once: one pushed by its sha512 digest has two revision links, both
// naming its sha256 digest, and deleting it twice would fail the sweep.
func (m gcManifests) Enumerate(ctx context.Context, ingester func(digest.Digest) error) error {
	enum, ok := m.ManifestService.(distribution.ManifestEnumerator)
	if !ok {
		return errNotEnumerable
	}
	return enumerateOnce(ctx, enum, ingester)
}

func (m gcManifests) Get(ctx context.Context, d digest.Digest, options ...distribution.ManifestServiceOption) (distribution.Manifest, error) {
	mf, err := m.ManifestService.Get(ctx, d, options...)
	if err != nil {
		return nil, err
	}
	return gcManifest{Manifest: mf, al: m.al}, nil
}

type gcManifest struct {
	distribution.Manifest
	al aliases
}

// References adds, after each reference by another algorithm than
// sha256, the same reference by the sha256 digest its content is stored
// under.
func (m gcManifest) References() []v1.Descriptor {
	refs := m.Manifest.References()
	out := make([]v1.Descriptor, 0, len(refs))
	for _, r := range refs {
		out = append(out, r)
		if canonical(r.Digest) {
			continue
		}
		if stored, ok := m.al.target(r.Digest); ok {
			r.Digest = stored
			out = append(out, r)
		}
	}
	return out
}
