package ship

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"berth/image"
)

// PushOptions tune Push.
type PushOptions struct {
	// Progress reports the layers; nil reports nothing.
	Progress *Progress
	// Jobs is how many blobs upload at once (0: 3).
	Jobs int
}

// PushResult says what Push did.
type PushResult struct {
	// Target is the manifest or index the tag now names on the registry.
	Target ocispec.Descriptor
	// Pushed, Existed and Mounted count the blobs uploaded, found on the
	// registry, and mounted from another repository of it.
	Pushed, Existed, Mounted int
}

// document is a manifest or index to push, with its exact bytes.
type document struct {
	desc ocispec.Descriptor
	b    []byte
}

// Push uploads the image named ref to its registry: the blobs the
// registry lacks (mounted from another repository of the same registry
// when the blob was pulled from there), then the manifests, the tagged
// one last, byte for byte as berth has them, so the digest is the same
// on both sides. An index is pushed whole when every manifest it lists
// is here; otherwise only the manifest of the host's platform is, as
// Docker does.
func (c *Client) Push(ctx context.Context, st *image.Store, ref image.Ref, o PushOptions) (PushResult, error) {
	var res PushResult
	if ref.Digest() != "" {
		return res, fmt.Errorf("push %s: cannot push a digest reference", ref.Familiar())
	}
	img, err := st.Get(ctx, ref)
	if errors.Is(err, image.ErrNotFound) {
		return res, fmt.Errorf("An image does not exist locally with the tag: %s", ref.Repository())
	}
	if err != nil {
		return res, err
	}
	repo, tag, err := remoteName(ref)
	if err != nil {
		return res, err
	}
	release, err := st.Content().Hold(ctx)
	if err != nil {
		return res, err
	}
	defer release()
	docs, blobs, err := pushPlan(ctx, st, img)
	if err != nil {
		return res, fmt.Errorf("push %s: %w", ref.Familiar(), err)
	}
	res.Target = docs[len(docs)-1].desc
	ep, err := c.endpoint(ctx, repo.RegistryStr(), repo.RepositoryStr(), "")
	if err != nil {
		return res, fmt.Errorf("push %s: %w", ref.Familiar(), err)
	}
	defer ep.close()
	sess, err := c.open(ctx, ep, transport.PushScope)
	if err != nil {
		return res, fmt.Errorf("push %s: %w", ref.Familiar(), describeError(err))
	}
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = defaultJobs
	}
	pusher, err := remote.NewPusher(remote.WithTransport(ep.base), remote.WithAuthFromKeychain(c.o.Keychain),
		remote.WithContext(ctx), remote.WithJobs(jobs), remote.WithUserAgent(userAgent))
	if err != nil {
		return res, fmt.Errorf("push %s: %w", ref.Familiar(), err)
	}
	p := o.Progress
	p.Printf("The push refers to repository [%s]", displayRepo(ref))
	if err := c.pushBlobs(ctx, st, sess, pusher, blobs, jobs, p, &res); err != nil {
		return res, fmt.Errorf("push %s: %w", ref.Familiar(), err)
	}
	for i, d := range docs {
		var r name.Reference = ep.repo.Digest(d.desc.Digest.String())
		if i == len(docs)-1 {
			r = ep.repo.Tag(tag)
		}
		if err := pusher.Push(ctx, r, rawManifest{b: d.b, mt: d.desc.MediaType}); err != nil {
			return res, fmt.Errorf("push %s: manifest %s: %w", ref.Familiar(), d.desc.Digest, err)
		}
	}
	p.Printf("%s: digest: %s size: %d", tag, res.Target.Digest, res.Target.Size)
	return res, nil
}

// displayRepo is the repository as Docker's push names it:
// docker.io/library/busybox.
func displayRepo(ref image.Ref) string {
	if t := ref.Tag(); t != "" {
		s := ref.String()
		return s[:len(s)-len(t)-1]
	}
	return ref.String()
}

// pushPlan lists the manifests to push (children before the index) and
// the blobs they name.
func pushPlan(ctx context.Context, st *image.Store, img image.Image) ([]document, []ocispec.Descriptor, error) {
	cs := st.Content()
	read := func(d ocispec.Descriptor) ([]byte, error) {
		b, err := cs.ReadBlob(d.Digest, image.MaxManifestSize)
		if err != nil {
			return nil, err
		}
		if d.Size != 0 && int64(len(b)) != d.Size {
			return nil, fmt.Errorf("manifest %s: %d bytes, its descriptor says %d", d.Digest, len(b), d.Size)
		}
		return b, nil
	}
	manifest := func(d ocispec.Descriptor) (document, []ocispec.Descriptor, error) {
		b, err := read(d)
		if err != nil {
			return document{}, nil, err
		}
		m, err := image.DecodeManifest(b, d.MediaType)
		if err != nil {
			return document{}, nil, fmt.Errorf("manifest %s: %w", d.Digest, err)
		}
		d.Size = int64(len(b))
		return document{d, b}, append([]ocispec.Descriptor{m.Config}, m.Layers...), nil
	}
	if image.IsIndex(img.Target.MediaType) {
		b, err := read(img.Target)
		if err != nil {
			return nil, nil, err
		}
		idx, err := image.DecodeIndex(b, img.Target.MediaType)
		if err != nil {
			return nil, nil, fmt.Errorf("index %s: %w", img.Target.Digest, err)
		}
		var docs []document
		var blobs []ocispec.Descriptor
		whole := true
		for _, c := range idx.Manifests {
			if c.MediaType == "" {
				c.MediaType = ocispec.MediaTypeImageManifest
			}
			if !image.IsManifest(c.MediaType) {
				whole = false
				break
			}
			doc, bs, err := manifest(c)
			if err != nil || !allPresent(st, bs) {
				whole = false
				break
			}
			docs = append(docs, doc)
			blobs = append(blobs, bs...)
		}
		if whole {
			d := img.Target
			d.Size = int64(len(b))
			return append(docs, document{d, b}), blobs, nil
		}
		_, md, err := st.Manifest(ctx, img)
		if err != nil {
			return nil, nil, err
		}
		doc, bs, err := manifest(md)
		if err != nil {
			return nil, nil, err
		}
		return []document{doc}, bs, nil
	}
	doc, bs, err := manifest(img.Target)
	if err != nil {
		return nil, nil, err
	}
	return []document{doc}, bs, nil
}

// allPresent tells whether every blob a manifest names is here (a
// non-distributable layer need not be).
func allPresent(st *image.Store, blobs []ocispec.Descriptor) bool {
	for _, b := range blobs {
		if !st.Content().Exists(b.Digest) && !foreignLayer(b) {
			return false
		}
	}
	return true
}

// foreignLayer tells a non-distributable layer with URLs to fetch it
// from: Docker does not push those, the registry need not have them.
func foreignLayer(d ocispec.Descriptor) bool {
	switch d.MediaType {
	case image.MediaTypeDockerForeignLayer, ocispec.MediaTypeImageLayerNonDistributable, //nolint:staticcheck // still found in images
		ocispec.MediaTypeImageLayerNonDistributableGzip, ocispec.MediaTypeImageLayerNonDistributableZstd: //nolint:staticcheck
		return len(d.URLs) > 0
	}
	return false
}

// pushBlobs uploads the blobs the registry lacks, several at once.
func (c *Client) pushBlobs(ctx context.Context, st *image.Store, sess *session, pusher *remote.Pusher, blobs []ocispec.Descriptor, jobs int, p *Progress, res *PushResult) error {
	var pushed, existed, mounted atomic.Int32
	src := newSources(st.Root())
	p.start()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	seen := map[string]bool{}
	for _, b := range blobs {
		if gctx.Err() != nil {
			break // a blob failed or the push was stopped: start no more
		}
		if seen[b.Digest.String()] {
			continue
		}
		seen[b.Digest.String()] = true
		if foreignLayer(b) {
			p.blob(b, "Skipped foreign layer").done("Skipped foreign layer")
			continue
		}
		bar := p.blob(b, "Preparing")
		g.Go(func() error {
			if ok, err := sess.blobExists(gctx, b); err != nil {
				bar.done("Failed")
				return err
			} else if ok {
				existed.Add(1)
				bar.done("Layer already exists")
				return nil
			}
			bar.status("Pushing")
			sb := &storeBlob{cs: st.Content(), desc: b, bar: bar}
			var l v1.Layer = sb
			from := mountFrom(src.get(b.Digest), sess.ep.repo)
			if from != nil {
				l = &remote.MountableLayer{Layer: sb, Reference: from.Digest(b.Digest.String())}
			}
			if err := pusher.Upload(gctx, sess.ep.repo, l); err != nil {
				bar.done("Failed")
				return fmt.Errorf("blob %s: %w", b.Digest, err)
			}
			if !sb.opened.Load() && from != nil {
				mounted.Add(1)
				bar.done("Mounted from " + from.RepositoryStr())
				return nil
			}
			pushed.Add(1)
			bar.done("Pushed")
			return nil
		})
	}
	err := g.Wait()
	p.wait()
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("blobs: %w", ctx.Err()) // stopped before every blob started
	}
	if err == nil {
		// The registry has them now: a later push to another repository
		// of it can mount them from here, as Docker remembers.
		for _, b := range blobs {
			if !foreignLayer(b) {
				src.add(b.Digest, sess.ep.repo.Name())
			}
		}
	}
	res.Pushed, res.Existed, res.Mounted = int(pushed.Load()), int(existed.Load()), int(mounted.Load())
	return err
}

// mountFrom picks, among the repositories a blob came from, one on the
// same registry as to (and not to itself) to mount the blob from.
func mountFrom(repos []string, to name.Repository) *name.Repository {
	for _, r := range repos {
		repo, err := name.NewRepository(r, name.StrictValidation)
		if err != nil {
			continue
		}
		if repo.RegistryStr() == to.RegistryStr() && repo.RepositoryStr() != to.RepositoryStr() {
			return &repo
		}
	}
	return nil
}

// blobExists asks the registry whether it has d (HEAD).
func (s *session) blobExists(ctx context.Context, d ocispec.Descriptor) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, s.url("blobs/"+d.Digest.String()), nil)
	if err != nil {
		return false, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, transport.CheckError(resp, http.StatusOK)
}
