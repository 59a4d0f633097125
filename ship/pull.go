package ship

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"berth/image"
)

// defaultJobs is how many layers download at once, as Docker's
// max-concurrent-downloads.
const defaultJobs = 3

// PullOptions tune Pull.
type PullOptions struct {
	// Platform selects the manifest of an index; nil means the host's.
	Platform *ocispec.Platform
	// Progress reports the layers; nil reports nothing.
	Progress *Progress
	// Jobs is how many layers download at once (0: 3).
	Jobs int
}

// PullResult says what Pull did.
type PullResult struct {
	// Name is the name recorded.
	Name image.Ref
	// Target is what the name points at: the index, or the manifest.
	Target ocispec.Descriptor
	// Manifest is the platform's manifest (Target unless an index).
	Manifest ocispec.Descriptor
	// Downloaded counts the blobs fetched; the others were present.
	Downloaded int
	// UpToDate says the name pointed at Target already and nothing was
	// fetched.
	UpToDate bool
}

// Pull fetches the image ref names from its registry (or a mirror) into
// st and records the name. An index is kept whole, with the manifest of
// the platform asked for and that manifest's config and layers; a
// platform other than the host's records its manifest instead, so the
// name runs. Nothing is named unless every blob arrived intact.
func (c *Client) Pull(ctx context.Context, st *image.Store, ref image.Ref, o PullOptions) (PullResult, error) {
	repo, reference, err := remoteName(ref)
	if err != nil {
		return PullResult{}, err
	}
	eps, err := c.endpoints(ctx, repo)
	if err != nil {
		return PullResult{}, fmt.Errorf("pull %s: %w", ref.Familiar(), err)
	}
	defer closeAll(eps)
	var last error
	for _, ep := range eps {
		sess, err := c.open(ctx, ep, transport.PullScope)
		var b []byte
		var desc ocispec.Descriptor
		if err == nil {
			b, desc, err = sess.manifest(ctx, reference)
		}
		if err != nil {
			last = err
			if ep.mirror && ctx.Err() == nil {
				c.log.Info("registry mirror failed, trying the next", "mirror", ep.host, "error", err)
				continue
			}
			break
		}
		res, err := c.pullFrom(ctx, st, sess, ref, b, desc, o)
		if err != nil {
			return res, fmt.Errorf("pull %s: %w", ref.Familiar(), err)
		}
		return res, nil
	}
	return PullResult{}, fmt.Errorf("pull %s: %w", ref.Familiar(), describeError(last))
}

// describeError turns a registry's "not found" into Docker's words.
func describeError(err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) {
		for _, d := range terr.Errors {
			if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode {
				return fmt.Errorf("manifest unknown: %w", err)
			}
		}
	}
	return err
}

// pullFrom fetches what the manifest or index b names from sess and
// records ref.
func (c *Client) pullFrom(ctx context.Context, st *image.Store, sess *session, ref image.Ref, b []byte, desc ocispec.Descriptor, o PullOptions) (PullResult, error) {
	cs := st.Content()
	release, err := cs.Hold(ctx)
	if err != nil {
		return PullResult{}, err
	}
	defer release()
	_, reference, _ := remoteName(ref)
	o.Progress.Printf("%s: Pulling from %s", reference, sess.ep.repo.RepositoryStr())
	platform := image.HostPlatform()
	if o.Platform != nil {
		platform = *o.Platform
	}
	res := PullResult{Name: ref, Target: desc, Manifest: desc}
	mbytes := b
	var ibytes []byte
	if image.IsIndex(desc.MediaType) {
		idx, err := image.DecodeIndex(b, desc.MediaType)
		if err != nil {
			return res, fmt.Errorf("index %s: %w", desc.Digest, err)
		}
		child, err := image.SelectManifest(idx, platform)
		if err != nil {
			return res, fmt.Errorf("index %s: %w", desc.Digest, err)
		}
		if child.MediaType == "" {
			child.MediaType = ocispec.MediaTypeImageManifest
		}
		cb, cdesc, err := sess.manifest(ctx, child.Digest.String())
		if err != nil {
			return res, fmt.Errorf("manifest %s: %w", child.Digest, err)
		}
		if cdesc.Size != child.Size {
			return res, fmt.Errorf("manifest %s: %d bytes, the index says %d", child.Digest, cdesc.Size, child.Size)
		}
		ibytes, mbytes, res.Manifest = b, cb, child
		if !image.MatchPlatform(image.HostPlatform(), platform) {
			res.Target = child
		}
	}
	m, err := image.DecodeManifest(mbytes, res.Manifest.MediaType)
	if err != nil {
		return res, fmt.Errorf("manifest %s: %w", res.Manifest.Digest, err)
	}
	n, err := c.fetchImage(ctx, st, sess, m, ibytes != nil, o)
	res.Downloaded = n
	if err != nil {
		return res, err
	}
	// Manifests after what they name, the index last.
	if err := writeDocument(ctx, st, res.Manifest, mbytes); err != nil {
		return res, err
	}
	if ibytes != nil {
		if err := writeDocument(ctx, st, desc, ibytes); err != nil {
			return res, err
		}
	}
	src := newSources(st.Root())
	where := sess.ep.repo.Name()
	if sess.ep.mirror {
		where = "" // a mirror is no mount source on the origin
	}
	if where != "" {
		src.add(m.Config.Digest, where)
		for _, l := range m.Layers {
			src.add(l.Digest, where)
		}
	}
	if old, err := st.Get(ctx, ref); err == nil && old.Target.Digest == res.Target.Digest && res.Downloaded == 0 {
		res.UpToDate = true
	}
	if err := st.Tag(ctx, ref, res.Target); err != nil {
		return res, err
	}
	o.Progress.Printf("Digest: %s", desc.Digest)
	return res, nil
}

// writeDocument stores a manifest or index under the digest it was
// fetched by.
func writeDocument(ctx context.Context, st *image.Store, d ocispec.Descriptor, b []byte) error {
	got, err := st.Content().WriteBlob(ctx, d.MediaType, b)
	if err != nil {
		return fmt.Errorf("store manifest %s: %w", d.Digest, err)
	}
	if got.Digest != d.Digest {
		return fmt.Errorf("store manifest %s: content hashes to %s", d.Digest, got.Digest)
	}
	return nil
}

// fetchImage downloads a manifest's config, then its layers, several at
// once, and returns how many blobs it fetched. The config must list a
// diff ID per layer.
func (c *Client) fetchImage(ctx context.Context, st *image.Store, sess *session, m ocispec.Manifest, fromIndex bool, o PullOptions) (int, error) {
	cs := st.Content()
	var fetched atomic.Int32
	// The config is read into memory: refuse a huge one before fetching.
	if m.Config.Size > image.MaxManifestSize {
		return 0, fmt.Errorf("config %s: %d bytes, larger than the %d a config may have", m.Config.Digest, m.Config.Size, image.MaxManifestSize)
	}
	got, err := sess.fetchBlob(ctx, cs, m.Config, nopBar{})
	if err != nil {
		return 0, fmt.Errorf("config: %w", err)
	}
	if got {
		fetched.Add(1)
	}
	cb, err := cs.ReadBlob(m.Config.Digest, image.MaxManifestSize)
	if err != nil {
		return int(fetched.Load()), fmt.Errorf("config %s: %w", m.Config.Digest, err)
	}
	cfg, err := image.DecodeConfig(cb)
	if err != nil {
		return int(fetched.Load()), fmt.Errorf("config %s: %w", m.Config.Digest, err)
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return int(fetched.Load()), fmt.Errorf("config %s: %d diff_ids for %d layers", m.Config.Digest, len(cfg.RootFS.DiffIDs), len(m.Layers))
	}
	// A single-platform image must be for the platform asked for (an
	// index entry was chosen by it); a config naming none is let be.
	if o.Platform != nil && !fromIndex && cfg.OS != "" {
		have := ocispec.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}
		if !image.MatchPlatform(have, *o.Platform) {
			return int(fetched.Load()), fmt.Errorf("the image is for %s, which does not match the platform asked for (%s)",
				image.FormatPlatform(have), image.FormatPlatform(*o.Platform))
		}
	}
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = defaultJobs
	}
	p := o.Progress
	p.start()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	seen := map[string]bool{}
	for _, l := range m.Layers {
		if gctx.Err() != nil {
			break // a layer failed or the pull was stopped: start no more
		}
		if seen[l.Digest.String()] {
			continue
		}
		seen[l.Digest.String()] = true
		if cs.Exists(l.Digest) {
			p.blob(l, "Already exists").done("Already exists")
			continue
		}
		bar := p.blob(l, "Pulling fs layer")
		g.Go(func() error {
			bar.status("Downloading")
			got, err := sess.fetchBlob(gctx, cs, l, bar)
			if err != nil {
				bar.done("Failed")
				return err
			}
			if got {
				fetched.Add(1)
			}
			bar.done("Download complete")
			return nil
		})
	}
	err = g.Wait()
	p.wait()
	if err == nil && ctx.Err() != nil {
		// Stopped before the loop started every layer, none failing.
		err = fmt.Errorf("layers: %w", ctx.Err())
	}
	return int(fetched.Load()), err
}
