package build

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"berth/build/buildctx"
	"berth/build/copier"
	ctrspec "berth/engine/ocispec"
	"berth/image"
)

// ErrNoContext is COPY or ADD of local files in a build without a
// context (a Dockerfile alone on stdin).
var ErrNoContext = errors.New("no build context: the Dockerfile came alone on stdin")

// copyStep plans COPY or ADD (add): sources from the context, from
// another stage or from an image (--from), with --chown and --chmod.
// Its cache key holds the content hash of the sources (names, modes,
// content, link targets; not times), so that changing one copied file
// rebuilds from this step on.
func (r *stageRun) copyStep(ctx context.Context, sd instructions.SourcesAndDest, from, chown, chmod string, add bool, text string) (step, error) {
	cmd := "COPY"
	if add {
		cmd = "ADD"
	}
	var mode *fs.FileMode
	if chmod != "" {
		m, err := copier.ParseChmod(chmod)
		if err != nil {
			return step{}, err
		}
		mode = &m
	}
	var flags []string
	if from != "" {
		flags = append(flags, "--from="+from)
	}
	if chown != "" {
		flags = append(flags, "--chown="+chown)
	}
	if chmod != "" {
		flags = append(flags, "--chmod="+chmod)
	}
	srcs := append([]string(nil), sd.SourcePaths...)
	for _, c := range sd.SourceContents {
		srcs = append(srcs, c.Path)
	}
	// BuildKit leaves the flags out of the history text; the key has them.
	createdBy := cmd + " " + strings.Join(srcs, " ") + " " + sd.DestPath + " # buildkit"
	workdir := r.st.cfg.Config.WorkingDir
	opts := func(rootfs string) (copier.Options, error) {
		o := copier.Options{Chmod: mode, ExtractArchives: add, Workdir: workdir}
		if chown != "" {
			own, err := copier.ResolveOwner(rootfs, chown)
			if err != nil {
				return o, fmt.Errorf("--chown=%s: %w", chown, err)
			}
			o.Chown = own
		}
		return o, nil
	}
	keyExtra := []string{"flags:" + strings.Join(flags, "\x00"), "dest:" + sd.DestPath, "wd:" + workdir}
	switch {
	case len(sd.SourceContents) > 0:
		return r.heredocCopy(sd, createdBy, keyExtra, opts)
	case from != "":
		return r.copyFrom(ctx, sd, from, createdBy, keyExtra, opts)
	}
	bctx := r.o.Context
	if bctx == nil {
		return step{}, ErrNoContext
	}
	sources, err := bctx.Sources(sd.SourcePaths)
	if err != nil {
		return step{}, err
	}
	sum, err := bctx.HashContext(ctx, sources)
	if err != nil {
		return step{}, err
	}
	return step{
		createdBy: createdBy,
		keyExtra:  append(keyExtra, "src:"+sum.String()),
		files: func(ctx context.Context, rootfs, work string, log *stepLog) error {
			o, err := opts(rootfs)
			if err != nil {
				return err
			}
			return bctx.Copy(ctx, sources, rootfs, sd.DestPath, o)
		},
	}, nil
}

// heredocCopy is `COPY <<EOF /dest`: the heredoc bodies become files.
func (r *stageRun) heredocCopy(sd instructions.SourcesAndDest, createdBy string, keyExtra []string,
	opts func(string) (copier.Options, error)) (step, error) {
	for _, c := range sd.SourceContents {
		keyExtra = append(keyExtra, "content:"+c.Path+"\x00"+c.Data)
	}
	return step{
		createdBy: createdBy,
		keyExtra:  keyExtra,
		files: func(ctx context.Context, rootfs, work string, log *stepLog) error {
			dir := filepath.Join(work, "heredoc")
			if err := os.Mkdir(dir, 0o755); err != nil {
				return err
			}
			var names []string
			for _, c := range sd.SourceContents {
				name := filepath.Base(c.Path)
				if err := os.WriteFile(filepath.Join(dir, name), []byte(c.Data), 0o644); err != nil {
					return err
				}
				names = append(names, name)
			}
			o, err := opts(rootfs)
			if err != nil {
				return err
			}
			return copier.Copy(ctx, dir, names, rootfs, sd.DestPath, o)
		},
	}, nil
}

// copyFrom is COPY --from=stage|image: the sources are globbed in the
// other stage's (or image's) files, mounted read-only.
func (r *stageRun) copyFrom(ctx context.Context, sd instructions.SourcesAndDest, from, createdBy string, keyExtra []string,
	opts func(string) (copier.Options, error)) (step, error) {
	name, err := r.p.expand(from, r.p.global)
	if err != nil {
		return step{}, err
	}
	var src state
	if j, ok := r.sp.copyFrom[name]; ok {
		src = r.results[j].st
	} else {
		img, _, err := r.b.resolveBase(ctx, name, false)
		if err != nil {
			return step{}, err
		}
		cfg, layers, _, err := r.b.baseConfig(ctx, img)
		if err != nil {
			return step{}, err
		}
		src = state{cfg: cfg, layers: layers}
	}
	if err := r.b.ensureUnpacked(ctx, &src); err != nil {
		return step{}, err
	}
	chain := src.topChain()
	keyExtra = append(keyExtra, "from:"+chain, "srcs:"+strings.Join(sd.SourcePaths, "\x00"))
	return step{
		createdBy: createdBy,
		keyExtra:  keyExtra,
		files: func(ctx context.Context, rootfs, work string, log *stepLog) error {
			return r.b.withTree(ctx, chain, func(dir string) error {
				paths, err := globIn(ctx, dir, sd.SourcePaths)
				if err != nil {
					return err
				}
				o, err := opts(rootfs)
				if err != nil {
					return err
				}
				return copier.Copy(ctx, dir, paths, rootfs, sd.DestPath, o)
			})
		},
	}, nil
}

// globIn expands COPY source patterns in a stage's files: no
// .dockerignore, and symlinks resolve inside the tree as in a chroot.
func globIn(ctx context.Context, dir string, patterns []string) ([]string, error) {
	c, err := buildctx.OpenTree(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	srcs, err := c.Sources(patterns)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(srcs))
	for i, s := range srcs {
		out[i] = s.Path
	}
	return out, nil
}

// mkdirInRoot creates dir (absolute, in the image) and its parents
// inside rootfs, following symlinks only inside it. The directories it
// creates belong to user (the stage's USER, "" for root), as BuildKit
// makes them, so that a USER's RUN can write in its WORKDIR.
func mkdirInRoot(rootfs, dir, user string) error {
	rel, escaped, err := copier.Resolve(rootfs, strings.TrimPrefix(dir, "/"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("WORKDIR %s: %w", dir, err)
	}
	_ = escaped // clamped to the rootfs, as Docker does
	// The parts that do not exist yet: the ones MkdirAll makes.
	var made []string
	p := rootfs
	for _, part := range strings.Split(rel, "/") {
		if part == "" {
			continue
		}
		p = filepath.Join(p, part)
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			made = append(made, p)
		}
	}
	if err := os.MkdirAll(filepath.Join(rootfs, filepath.FromSlash(rel)), 0o755); err != nil {
		return fmt.Errorf("WORKDIR %s: %w", dir, err)
	}
	if user == "" || len(made) == 0 {
		return nil
	}
	u, err := ctrspec.ResolveUser(rootfs, user)
	if err != nil {
		return fmt.Errorf("WORKDIR %s: %w", dir, err)
	}
	for _, d := range made {
		if err := os.Lchown(d, int(u.UID), int(u.GID)); err != nil {
			return fmt.Errorf("WORKDIR %s: %w", dir, err)
		}
	}
	return nil
}

// resolveBase finds a base image in the store. With pull (or when it is
// missing) it asks b.Pull, when set, to fetch it.
func (b *Builder) resolveBase(ctx context.Context, name string, pull bool) (image.Image, string, error) {
	imgs, err := b.images.Resolve(ctx, name)
	if err == nil && !pull {
		return imgs[0], "", nil
	}
	if err != nil && !errors.Is(err, image.ErrNotFound) {
		return image.Image{}, "", err
	}
	if b.Pull == nil {
		if err != nil {
			return image.Image{}, "", fmt.Errorf("%s: %w (berth cannot pull yet: load or bootstrap it first)", name, err)
		}
		return imgs[0], "--pull: no registry client in this berth, using the local image", nil
	}
	if perr := b.Pull(ctx, name); perr != nil {
		if err == nil {
			return imgs[0], "--pull failed (" + perr.Error() + "), using the local image", nil
		}
		return image.Image{}, "", fmt.Errorf("%s: not in the store, and pulling it failed: %w", name, perr)
	}
	imgs, err = b.images.Resolve(ctx, name)
	if err != nil {
		return image.Image{}, "", err
	}
	return imgs[0], "", nil
}
