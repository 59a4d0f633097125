package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth/layer"
)

// Loading a docker-archive: manifest.json, configs and layer files found
// by path (see Load).

// archiveLayer is what Load learns of a docker-archive layer file.
type archiveLayer struct {
	mediaType string
	diffID    digest.Digest
}

// loadDocker checks the images a docker-archive's manifest.json lists and
// writes an OCI manifest for each.
func (a *archiveReader) loadDocker(ctx context.Context) ([]Image, error) {
	var entries []dockerArchiveManifest
	if err := decodeStrict(a.meta[archiveManifestFile], &entries); err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	if len(entries) == 0 {
		return nil, errors.New("manifest.json lists no images")
	}
	var repos map[string]map[string]string
	if b, ok := a.meta[archiveReposFile]; ok {
		if err := decodeStrict(b, &repos); err != nil {
			return nil, fmt.Errorf("repositories: %w", err)
		}
	}
	var found []Image
	for i, e := range entries {
		what := fmt.Sprintf("manifest.json[%d]", i)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		target, err := a.dockerImage(ctx, e)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		names, err := dockerArchiveNames(e, repos)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if len(names) == 0 {
			found = addArchiveImage(found, Image{Target: target})
		}
		for _, n := range names {
			found = addArchiveImage(found, Image{Name: n, Target: target})
		}
	}
	return found, nil
}

// dockerArchiveNames are an entry's RepoTags, and the names the legacy
// repositories file gives its top layer's directory.
func dockerArchiveNames(e dockerArchiveManifest, repos map[string]map[string]string) ([]Ref, error) {
	var out []Ref
	seen := map[string]bool{}
	add := func(what, s string) error {
		r, err := ParseRef(s)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if !seen[r.String()] {
			seen[r.String()] = true
			out = append(out, r)
		}
		return nil
	}
	for i, t := range e.RepoTags {
		if err := add(fmt.Sprintf("RepoTags[%d]", i), t); err != nil {
			return nil, err
		}
	}
	if len(e.Layers) == 0 || len(repos) == 0 {
		return out, nil
	}
	top := path.Base(path.Dir(path.Clean(e.Layers[len(e.Layers)-1])))
	repoNames := make([]string, 0, len(repos))
	for r := range repos {
		repoNames = append(repoNames, r)
	}
	sort.Strings(repoNames)
	for _, r := range repoNames {
		tags := make([]string, 0, len(repos[r]))
		for t := range repos[r] {
			tags = append(tags, t)
		}
		sort.Strings(tags)
		for _, t := range tags {
			if repos[r][t] != top {
				continue
			}
			if err := add(fmt.Sprintf("repositories %q %q", r, t), r+":"+t); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// dockerImage checks one manifest.json entry and writes its manifest.
func (a *archiveReader) dockerImage(ctx context.Context, e dockerArchiveManifest) (ocispec.Descriptor, error) {
	cdesc, err := a.resolve(e.Config)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("Config: %w", err)
	}
	cb, err := a.readBlob(cdesc)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("Config %q: %w", e.Config, err)
	}
	cfg, err := DecodeConfig(cb)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("Config %q: %w", e.Config, err)
	}
	if len(cfg.RootFS.DiffIDs) != len(e.Layers) {
		return ocispec.Descriptor{}, fmt.Errorf("Config %q lists %d diff_ids for %d Layers", e.Config, len(cfg.RootFS.DiffIDs), len(e.Layers))
	}
	layers := make([]ocispec.Descriptor, 0, len(e.Layers))
	for i, p := range e.Layers {
		ld, err := a.resolve(p)
		if err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("Layers[%d]: %w", i, err)
		}
		li, err := a.examineLayer(ctx, ld.Digest)
		if err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("Layers[%d] %q: %w", i, p, err)
		}
		if li.diffID != cfg.RootFS.DiffIDs[i] {
			return ocispec.Descriptor{}, fmt.Errorf("Layers[%d] %q: uncompressed digest %s, the config's diff_ids[%d] says %s",
				i, p, li.diffID, i, cfg.RootFS.DiffIDs[i])
		}
		layers = append(layers, ocispec.Descriptor{MediaType: li.mediaType, Digest: ld.Digest, Size: ld.Size})
	}
	return a.s.writeArchiveManifest(ctx, ocispec.Descriptor{
		MediaType: ocispec.MediaTypeImageConfig, Digest: cdesc.Digest, Size: cdesc.Size,
	}, layers)
}

// examineLayer tells a stored layer file's compression and uncompressed
// digest, decompressing it if it is compressed.
func (a *archiveReader) examineLayer(ctx context.Context, d digest.Digest) (archiveLayer, error) {
	if li, ok := a.diffID[d]; ok {
		return li, nil
	}
	f, err := a.s.content.Open(d)
	if err != nil {
		return archiveLayer{}, err
	}
	defer f.Close()
	rc, comp, err := layer.DecompressStream(f)
	if err != nil {
		return archiveLayer{}, err
	}
	defer rc.Close()
	var li archiveLayer
	switch comp {
	case layer.None:
		// The store verified the blob against d: a plain tar's digest is
		// its DiffID.
		li = archiveLayer{mediaType: ocispec.MediaTypeImageLayer, diffID: d}
	case layer.Gzip, layer.Zstd:
		li.mediaType = ocispec.MediaTypeImageLayerGzip
		if comp == layer.Zstd {
			li.mediaType = ocispec.MediaTypeImageLayerZstd
		}
		dg := digest.Canonical.Digester()
		if _, err := io.Copy(dg.Hash(), archiveCtxReader{ctx: ctx, r: rc}); err != nil {
			return archiveLayer{}, fmt.Errorf("decompress: %w", err)
		}
		li.diffID = dg.Digest()
	default:
		return archiveLayer{}, fmt.Errorf("unsupported compression %s", comp)
	}
	a.diffID[d] = li
	return li, nil
}

// archiveCtxReader ends a long read when ctx ends.
type archiveCtxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c archiveCtxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// writeArchiveManifest stores an OCI manifest for a docker-archive image:
// the config blob as it came (its digest is the image ID) and the layers.
// WriteImage would re-encode the config and so change the ID. The
// manifest has the same shape WriteImage writes, so an image berth made
// loads back from a docker-archive with its manifest digest unchanged.
func (s *Store) writeArchiveManifest(ctx context.Context, config ocispec.Descriptor, layers []ocispec.Descriptor) (ocispec.Descriptor, error) {
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: config, Layers: layers}
	m.SchemaVersion = 2
	mb, err := json.Marshal(m)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("encode manifest: %w", err)
	}
	return s.content.WriteBlob(ctx, ocispec.MediaTypeImageManifest, mb)
}
