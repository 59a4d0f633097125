package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth/build/buildctx"
	"berth/image"
)

// Options are what `berth build` asks for.
type Options struct {
	// Dockerfile is the Dockerfile's text; DockerfileName names it in
	// messages (default "Dockerfile").
	Dockerfile     []byte
	DockerfileName string
	// Context is the build context; nil for a Dockerfile given alone on
	// stdin (COPY and ADD of local files then fail).
	Context *buildctx.Context
	// Tags name the image (-t); none leaves it without a name.
	Tags []string
	// BuildArgs are --build-arg values.
	BuildArgs map[string]string
	// Target is the stage to build (--target); "" the last one.
	Target string
	// NoCache ignores the cache (entries are still written).
	NoCache bool
	// Pull re-resolves base images.
	Pull bool
	// Labels are added to the image's labels (--label).
	Labels map[string]string
	// Network is RUN's network: "default" or "" (a namespace of its own
	// with loopback only), "none", or "host".
	Network string
	// Progress receives the step lines; nil prints nothing.
	Progress *Progress
}

// Result is the built image.
type Result struct {
	// ID is the image ID (its config digest).
	ID digest.Digest
	// Target is the manifest's descriptor.
	Target ocispec.Descriptor
	// Tags are the names given to it.
	Tags []image.Ref
	// Warnings are things the user should know (unused build args).
	Warnings []string
}

// Builder builds images into an image store.
type Builder struct {
	images  *image.Store
	root    string
	runtime string
	log     *slog.Logger
	cache   *cache
	// Pull, when set, fetches a base image missing from the store (or
	// every base image, with --pull) from its registry.
	Pull func(ctx context.Context, ref string) error
	// BeforeFirstStep, when set, is called once before the first step
	// that makes a snapshot (the CLI starts its cleanup watcher there, so
	// that a fully cached build starts no process).
	BeforeFirstStep func()
	firstStep       sync.Once
}

// Cleanup removes what killed builds left under the store (see sweep);
// live builds are not touched.
func (b *Builder) Cleanup(ctx context.Context) error {
	release, err := b.images.Content().Hold(ctx)
	if err != nil {
		return err
	}
	defer release()
	return b.sweep(ctx)
}

// New returns a builder over the image store, running RUN steps with
// the OCI runtime binary (berth-runtime or a runc-compatible one).
func New(images *image.Store, runtime string) *Builder {
	root := filepath.Join(images.Root(), "build")
	return &Builder{
		images: images, root: root, runtime: runtime, log: slog.Default(),
		cache: &cache{dir: filepath.Join(root, "cache"), content: images.Content()},
	}
}

func (b *Builder) runDir() string      { return filepath.Join(b.root, "run") }
func (b *Builder) runtimeRoot() string { return filepath.Join(b.root, "runtime") }

// stageResult is a stage's outcome, for the stages that build on it.
type stageResult struct {
	done chan struct{}
	st   state
	args *vars // the ARGs the stage declared, with their values
	err  error
}

// Build builds the image o describes. Nothing is named unless every step
// succeeded; on failure the error says which step failed and why.
func (b *Builder) Build(ctx context.Context, o Options) (Result, error) {
	name := o.DockerfileName
	if name == "" {
		name = "Dockerfile"
	}
	df, err := Parse(o.Dockerfile, name)
	if err != nil {
		return Result{}, err
	}
	tags := make([]image.Ref, 0, len(o.Tags))
	for _, t := range o.Tags {
		ref, err := image.ParseRef(t)
		if err != nil {
			return Result{}, fmt.Errorf("invalid tag %q: %w", t, err)
		}
		if ref.Digest() != "" {
			return Result{}, fmt.Errorf("invalid tag %q: a tag cannot have a digest", t)
		}
		tags = append(tags, ref)
	}
	prog := o.Progress
	if prog == nil {
		prog = NewProgress(io.Discard)
	}
	// Writers hold the content store shared until the image is named, so
	// that a garbage collection never sweeps a layer between the step
	// that made it and the tag that keeps it.
	release, err := b.images.Content().Hold(ctx)
	if err != nil {
		return Result{}, err
	}
	defer release()
	if err := b.sweep(ctx); err != nil {
		b.log.Warn("clean up after an earlier build", "error", err)
	}
	p, err := b.plan(df, o)
	if err != nil {
		return Result{}, err
	}
	for _, w := range df.Warnings {
		prog.Printf("WARNING: %s", w)
	}
	st, err := b.runStages(ctx, p, o, prog)
	if err != nil {
		return Result{}, err
	}
	res := Result{Warnings: p.unusedArgs()}
	for _, w := range res.Warnings {
		prog.Printf("[Warning] %s", w)
	}
	exp := prog.step("exporting to image")
	cfg := st.cfg
	if len(o.Labels) > 0 {
		if cfg.Config.Labels == nil {
			cfg.Config.Labels = map[string]string{}
		}
		for k, v := range o.Labels {
			cfg.Config.Labels[k] = v
		}
	}
	final := st
	final.cfg = cfg
	desc, err := b.writeImage(ctx, &final)
	if err != nil {
		exp.failed(err)
		return Result{}, err
	}
	m, _, err := b.images.Manifest(ctx, image.Image{Target: desc})
	if err != nil {
		return Result{}, err
	}
	res.ID, res.Target, res.Tags = m.Config.Digest, desc, tags
	exp.line("writing image " + res.ID.String() + " done")
	if len(tags) == 0 {
		if err := b.images.Tag(ctx, image.Ref{}, desc); err != nil {
			return Result{}, err
		}
	} else {
		imgs := make([]image.Image, 0, len(tags))
		for _, t := range tags {
			imgs = append(imgs, image.Image{Name: t, Target: desc})
		}
		if err := b.images.TagAll(ctx, imgs); err != nil {
			return Result{}, err
		}
		for _, t := range tags {
			exp.line("naming to " + t.String() + " done")
		}
	}
	exp.done()
	return res, nil
}

// runStages builds the target stage and the stages it needs, the
// independent ones at the same time.
func (b *Builder) runStages(ctx context.Context, p *plan, o Options, prog *Progress) (state, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]*stageResult, len(p.stages))
	for _, i := range p.needed {
		results[i] = &stageResult{done: make(chan struct{})}
	}
	for _, i := range p.needed {
		go func(i int) {
			r := results[i]
			defer close(r.done)
			for _, d := range p.stages[i].deps {
				select {
				case <-results[d].done:
					if results[d].err != nil {
						r.err = errDependency
						return
					}
				case <-ctx.Done():
					r.err = ctx.Err()
					return
				}
			}
			r.st, r.args, r.err = b.runStage(ctx, p, i, results, o, prog)
			if r.err != nil {
				cancel()
			}
		}(i)
	}
	var errs []error
	for _, i := range p.needed {
		<-results[i].done
		if err := results[i].err; err != nil && !errors.Is(err, errDependency) && !(errors.Is(err, context.Canceled) && ctx.Err() != nil) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return state{}, errs[0]
	}
	t := results[p.target]
	if t.err != nil {
		return state{}, t.err
	}
	return t.st, nil
}

// errDependency marks a stage not built because one it needs failed.
var errDependency = errors.New("a stage this one needs failed")

// writeImage stores st's configuration (Docker's fields included) and an
// OCI manifest naming it and its layers.
func (b *Builder) writeImage(ctx context.Context, st *state) (ocispec.Descriptor, error) {
	cfg := st.cfg
	cfg.RootFS.Type = "layers"
	if cfg.RootFS.DiffIDs == nil {
		cfg.RootFS.DiffIDs = []digest.Digest{}
	}
	var latest time.Time
	for _, h := range cfg.History {
		if h.Created != nil && h.Created.After(latest) {
			latest = *h.Created
		}
	}
	if latest.IsZero() {
		latest = time.Now().UTC()
	}
	cfg.Created = &latest
	cb, err := json.Marshal(cfg)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("write image config: %w", err)
	}
	cs := b.images.Content()
	cdesc, err := cs.WriteBlob(ctx, ocispec.MediaTypeImageConfig, cb)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	layers := st.layers
	if layers == nil {
		layers = []ocispec.Descriptor{}
	}
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cdesc, Layers: layers}
	m.SchemaVersion = 2
	mb, err := json.Marshal(m)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("write image manifest: %w", err)
	}
	return cs.WriteBlob(ctx, ocispec.MediaTypeImageManifest, mb)
}

// baseConfig reads an image's configuration with Docker's fields.
func (b *Builder) baseConfig(ctx context.Context, img image.Image) (dockerspec.DockerOCIImage, []ocispec.Descriptor, digest.Digest, error) {
	m, _, err := b.images.Manifest(ctx, img)
	if err != nil {
		return dockerspec.DockerOCIImage{}, nil, "", err
	}
	raw, err := b.images.Content().ReadBlob(m.Config.Digest, 8<<20)
	if err != nil {
		return dockerspec.DockerOCIImage{}, nil, "", err
	}
	var cfg dockerspec.DockerOCIImage
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return dockerspec.DockerOCIImage{}, nil, "", fmt.Errorf("image config %s: %w", m.Config.Digest, err)
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return dockerspec.DockerOCIImage{}, nil, "", fmt.Errorf("image config %s: %d diff IDs for %d layers", m.Config.Digest, len(cfg.RootFS.DiffIDs), len(m.Layers))
	}
	return cfg, m.Layers, m.Config.Digest, nil
}

// scratchConfig is the configuration of an image FROM scratch: the
// platform and BuildKit's default PATH.
func scratchConfig() dockerspec.DockerOCIImage {
	var c dockerspec.DockerOCIImage
	p := image.HostPlatform()
	c.OS, c.Architecture, c.Variant = p.OS, p.Architecture, p.Variant
	c.RootFS.Type = "layers"
	c.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	c.Config.WorkingDir = "/"
	return c
}
