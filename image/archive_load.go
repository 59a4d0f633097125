package image

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth/content"
	"berth/layer"
)

// Limits on what Load takes from an archive, which is untrusted input.
const (
	// maxArchiveEntries bounds the entries of one archive (each costs a
	// little memory); Docker's own archives have a few per layer.
	maxArchiveEntries = 1 << 16
	// maxLayoutFileSize bounds oci-layout, a one-line file.
	maxLayoutFileSize = 4 << 10
	// maxArchiveLinks bounds a chain of symlinks between archive entries.
	maxArchiveLinks = 16
)

// Load reads an archive from r and records the images in it. It takes
// what Save writes and what Docker, containerd, skopeo and Podman write:
//
//   - an OCI image layout (oci-layout and index.json, blobs/sha256/...);
//     names come from the io.containerd.image.name annotation, else from
//     org.opencontainers.image.ref.name when that is a full reference
//     (skopeo writes "name:tag"; a bare tag names no repository);
//   - a docker-archive (manifest.json), from Docker 1.10 on: layer files
//     anywhere (<id>/layer.tar, blobs/sha256/<hex>, symlinks between them),
//     configs as files (<id>.json), names from RepoTags and from the
//     legacy repositories file. An OCI manifest is written for each
//     image, with the archive's config bytes unchanged (so the image ID
//     is Docker's) and its layers as they are (a plain tar's digest is its
//     DiffID); every layer's uncompressed digest is checked against the
//     config's diff_ids.
//
// When an archive has both (Docker 25 and later, berth), the OCI layout
// is read, unless its index.json lists nothing. The whole archive may be gzip or zstd compressed.
//
// The tar is read once, in whatever order it comes: every file under
// blobs/ is ingested into the content store as it streams past, verified
// against the digest its name gives (a mismatch fails the load naming the
// entry); other files are ingested under their computed digest and found
// again by path; the small JSON documents are kept in memory up to
// MaxManifestSize. Entry names are never used as paths on disk. After the
// tar, the image graph is checked (every manifest, config and layer
// present and of the size named, configs parse, one diff_id per layer)
// and only then is any name recorded. On error no name is recorded: the
// blobs already ingested are unreferenced and the next GC removes them.
// The content store is held throughout, so GC cannot remove a blob
// between its ingest and the name that keeps it.
//
// Load returns one Image per name recorded, in archive order, and one
// with a zero Name for each image the archive does not name (Docker
// prints those as "Loaded image ID: sha256:..."; Store.ID gives it).
func (s *Store) Load(ctx context.Context, r io.Reader) ([]Image, error) {
	release, err := s.content.Hold(ctx)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	defer release()
	a := &archiveReader{
		s:      s,
		blobs:  map[string]ocispec.Descriptor{},
		links:  map[string]string{},
		meta:   map[string][]byte{},
		diffID: map[digest.Digest]archiveLayer{},
	}
	if err := a.read(ctx, r); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	var found []Image
	_, hasLayout := a.meta[archiveLayoutFile]
	_, hasIndex := a.meta[archiveIndexFile]
	_, hasManifest := a.meta[archiveManifestFile]
	_, hasRepos := a.meta[archiveReposFile]
	switch {
	case hasLayout && hasIndex && !(hasManifest && a.indexEmpty()):
		found, err = a.loadOCI(ctx)
	case hasManifest:
		found, err = a.loadDocker(ctx)
	case hasIndex || hasLayout:
		err = errors.New("an OCI layout needs both oci-layout and index.json")
	case hasRepos:
		err = errors.New("a docker-archive from before Docker 1.10 (repositories without manifest.json) is not supported")
	default:
		err = errors.New("neither an OCI layout (oci-layout, index.json) nor a docker-archive (manifest.json)")
	}
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	// Names last, all in one transaction: until here nothing the archive
	// brought is visible. Images without a name are recorded as such.
	if err := s.TagAll(ctx, found); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	out := make([]Image, 0, len(found))
	for _, img := range found {
		if !img.Dangling() {
			if got, err := s.Get(ctx, img.Name); err == nil {
				img = got
			}
		}
		out = append(out, img)
	}
	return out, nil
}

// indexEmpty tells whether index.json lists nothing, so that an archive
// whose layout is only a stub is read by its manifest.json.
func (a *archiveReader) indexEmpty() bool {
	var idx struct {
		Manifests []json.RawMessage `json:"manifests"`
	}
	return json.Unmarshal(a.meta[archiveIndexFile], &idx) == nil && len(idx.Manifests) == 0
}

// archiveReader is the state of one Load.
type archiveReader struct {
	s      *Store
	blobs  map[string]ocispec.Descriptor  // archive path -> blob stored from it
	links  map[string]string              // archive path -> path it links to
	meta   map[string][]byte              // oci-layout, index.json, manifest.json, repositories
	diffID map[digest.Digest]archiveLayer // docker-archive layers already examined
}

// read streams the tar, storing its files.
func (a *archiveReader) read(ctx context.Context, r io.Reader) error {
	rc, _, err := layer.DecompressStream(r)
	if err != nil {
		return fmt.Errorf("read archive: %w", err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	last, n := "", 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if last == "" {
				return fmt.Errorf("read archive: %w", err)
			}
			return fmt.Errorf("read archive after entry %q: %w", last, err)
		}
		if n++; n > maxArchiveEntries {
			return fmt.Errorf("archive has more than %d entries", maxArchiveEntries)
		}
		if err := a.entry(ctx, hdr, tr); err != nil {
			return fmt.Errorf("archive entry %q: %w", hdr.Name, err)
		}
		last = hdr.Name
	}
	if n == 0 {
		return errors.New("archive is empty")
	}
	return nil
}

// entry takes one tar entry.
func (a *archiveReader) entry(ctx context.Context, hdr *tar.Header, r io.Reader) error {
	name, err := cleanArchivePath(hdr.Name)
	if err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeReg:
		return a.file(ctx, name, hdr.Size, r)
	case tar.TypeSymlink:
		// Docker 25 links <id>/layer.tar to ../blobs/sha256/<hex>.
		if strings.HasPrefix(hdr.Linkname, "/") {
			return fmt.Errorf("symlink to absolute path %q", hdr.Linkname)
		}
		target, err := cleanArchivePath(path.Join(path.Dir(name), hdr.Linkname))
		if err != nil {
			return fmt.Errorf("symlink target: %w", err)
		}
		a.links[name] = target
	case tar.TypeLink:
		target, err := cleanArchivePath(hdr.Linkname)
		if err != nil {
			return fmt.Errorf("hardlink target: %w", err)
		}
		a.links[name] = target
	}
	// Directories, devices and fifos are no part of an image archive.
	return nil
}

// file takes one regular file.
func (a *archiveReader) file(ctx context.Context, name string, size int64, r io.Reader) error {
	switch {
	case name == archiveLayoutFile:
		return a.keep(name, size, maxLayoutFileSize, r)
	case name == archiveIndexFile, name == archiveManifestFile, name == archiveReposFile:
		return a.keep(name, size, MaxManifestSize, r)
	case strings.HasPrefix(name, "blobs/"):
		d, err := archiveBlobDigest(name)
		if err != nil {
			return err
		}
		desc, err := a.s.content.Ingest(ctx, r, ocispec.Descriptor{Digest: d, Size: size})
		if err != nil {
			return err
		}
		a.blobs[name] = desc
	case path.Dir(name) != "." && (path.Base(name) == "json" || path.Base(name) == "VERSION"):
		// A docker-archive's per-layer v1 metadata; manifest.json and the
		// config say all that is needed.
	default:
		// A docker-archive's layer.tar or config: stored under its own
		// digest, found again by path once manifest.json is read.
		desc, err := a.s.content.Ingest(ctx, r, ocispec.Descriptor{Size: size})
		if err != nil {
			return err
		}
		a.blobs[name] = desc
	}
	return nil
}

// keep buffers a small metadata file.
func (a *archiveReader) keep(name string, size, limit int64, r io.Reader) error {
	if size > limit {
		return fmt.Errorf("%d bytes, more than the %d allowed", size, limit)
	}
	if _, dup := a.meta[name]; dup {
		return errors.New("appears twice in the archive")
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return err
	}
	if int64(len(b)) > limit {
		return fmt.Errorf("more than the %d bytes allowed", limit)
	}
	a.meta[name] = b
	return nil
}

// cleanArchivePath cleans an entry name or a path an archive document
// names, refusing absolute names and names that climb out of the archive.
// Names are never used as paths on disk; refusing them makes a hostile
// archive fail clearly, as Docker's load does.
func cleanArchivePath(p string) (string, error) {
	if p == "" {
		return "", errors.New("empty path")
	}
	if strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("absolute path %q", p)
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("path %q climbs out of the archive", p)
	}
	return c, nil
}

// archiveBlobDigest is the digest an OCI layout's blobs/<alg>/<hex> names.
func archiveBlobDigest(name string) (digest.Digest, error) {
	parts := strings.Split(name, "/")
	if len(parts) != 3 || parts[0] != "blobs" {
		return "", errors.New("not a blob path (blobs/<algorithm>/<hex>)")
	}
	d := digest.Digest(parts[1] + ":" + parts[2])
	if d.Algorithm() != digest.SHA256 {
		return "", fmt.Errorf("blob algorithm %q: only sha256 blobs can be loaded", parts[1])
	}
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("blob name: %w", err)
	}
	return d, nil
}

// resolve finds the blob stored from archive path p, following links. A
// blobs/sha256/<hex> path may also name a blob the store already has.
func (a *archiveReader) resolve(p string) (ocispec.Descriptor, error) {
	name, err := cleanArchivePath(p)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	for range maxArchiveLinks {
		if d, ok := a.blobs[name]; ok {
			return d, nil
		}
		t, ok := a.links[name]
		if !ok {
			break
		}
		name = t
	}
	if d, err := archiveBlobDigest(name); err == nil {
		if info, err := a.s.content.Info(d); err == nil {
			return ocispec.Descriptor{Digest: d, Size: info.Size}, nil
		}
	}
	return ocispec.Descriptor{}, fmt.Errorf("%q is not in the archive", p)
}

// loadOCI checks the images index.json names.
func (a *archiveReader) loadOCI(ctx context.Context) ([]Image, error) {
	var lay ocispec.ImageLayout
	if err := decodeStrict(a.meta[archiveLayoutFile], &lay); err != nil {
		return nil, fmt.Errorf("oci-layout: %w", err)
	}
	if lay.Version != ocispec.ImageLayoutVersion {
		return nil, fmt.Errorf("oci-layout: imageLayoutVersion %q, want %q", lay.Version, ocispec.ImageLayoutVersion)
	}
	idx, err := DecodeIndex(a.meta[archiveIndexFile], "")
	if err != nil {
		return nil, fmt.Errorf("index.json: %w", err)
	}
	if len(idx.Manifests) == 0 {
		return nil, errors.New("index.json lists no images")
	}
	var found []Image
	for i, d := range idx.Manifests {
		what := fmt.Sprintf("index.json manifests[%d] (%s)", i, d.Digest)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if d.MediaType == "" {
			mt, err := a.sniff(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
			d.MediaType = mt
		}
		if err := a.verify(d, 0); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		name, err := archiveImageName(d.Annotations)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		target := ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size, Platform: d.Platform}
		found = addArchiveImage(found, Image{Name: name, Target: target})
	}
	return found, nil
}

// sniff tells the media type of a document index.json lists without one.
func (a *archiveReader) sniff(d digest.Digest) (string, error) {
	b, err := a.readBlob(ocispec.Descriptor{Digest: d})
	if err != nil {
		return "", err
	}
	return SniffMediaType(b)
}

// readBlob reads a small stored blob, saying "not in the archive" when it
// is missing.
func (a *archiveReader) readBlob(d ocispec.Descriptor) ([]byte, error) {
	b, err := a.s.readBlob(d)
	if errors.Is(err, content.ErrNotFound) {
		return nil, fmt.Errorf("%s is not in the archive", d.Digest)
	}
	return b, err
}

// present checks that a blob is stored with the size its descriptor says.
func (a *archiveReader) present(what string, d ocispec.Descriptor) error {
	info, err := a.s.content.Info(d.Digest)
	if errors.Is(err, content.ErrNotFound) {
		return fmt.Errorf("%s %s is not in the archive", what, d.Digest)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if info.Size != d.Size {
		return fmt.Errorf("%s %s is %d bytes, its descriptor says %d", what, d.Digest, info.Size, d.Size)
	}
	return nil
}

// verify checks the graph under a manifest or index: every document parses,
// every blob is present. An index needs at least one of its manifests (a
// pulled image keeps only its platform's), and those present complete.
func (a *archiveReader) verify(d ocispec.Descriptor, depth int) error {
	if depth > 4 {
		return fmt.Errorf("%s: indexes nested too deep", d.Digest)
	}
	if err := a.present("document", d); err != nil {
		return err
	}
	b, err := a.readBlob(d)
	if err != nil {
		return err
	}
	switch {
	case IsIndex(d.MediaType):
		idx, err := DecodeIndex(b, d.MediaType)
		if err != nil {
			return fmt.Errorf("index %s: %w", d.Digest, err)
		}
		kept := 0
		for i, c := range idx.Manifests {
			if c.MediaType == "" {
				c.MediaType = ocispec.MediaTypeImageManifest
			}
			if !a.s.content.Exists(c.Digest) {
				continue
			}
			if err := a.verify(c, depth+1); err != nil {
				return fmt.Errorf("index %s manifests[%d]: %w", d.Digest, i, err)
			}
			kept++
		}
		if kept == 0 {
			return fmt.Errorf("index %s: none of its %d manifests is in the archive", d.Digest, len(idx.Manifests))
		}
		return nil
	case IsManifest(d.MediaType):
		m, err := DecodeManifest(b, d.MediaType)
		if err != nil {
			return fmt.Errorf("manifest %s: %w", d.Digest, err)
		}
		return a.verifyManifest(d.Digest, m)
	}
	return fmt.Errorf("%s: media type %q is neither a manifest nor an index", d.Digest, d.MediaType)
}

// verifyManifest checks a manifest's config and layers.
func (a *archiveReader) verifyManifest(md digest.Digest, m ocispec.Manifest) error {
	if err := a.present("config", m.Config); err != nil {
		return fmt.Errorf("manifest %s: %w", md, err)
	}
	cb, err := a.readBlob(m.Config)
	if err != nil {
		return fmt.Errorf("manifest %s: config: %w", md, err)
	}
	cfg, err := DecodeConfig(cb)
	if err != nil {
		return fmt.Errorf("manifest %s: config %s: %w", md, m.Config.Digest, err)
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return fmt.Errorf("manifest %s: config %s lists %d diff_ids for %d layers", md, m.Config.Digest, len(cfg.RootFS.DiffIDs), len(m.Layers))
	}
	for i, l := range m.Layers {
		if err := a.present(fmt.Sprintf("layers[%d]", i), l); err != nil {
			return fmt.Errorf("manifest %s: %w", md, err)
		}
	}
	return nil
}

// archiveImageName is the name an index.json entry gives its image:
// containerd's annotation, else a ref.name that is a full reference.
func archiveImageName(ann map[string]string) (Ref, error) {
	if n := ann[AnnotationImageName]; n != "" {
		r, err := ParseRef(n)
		if err != nil {
			return Ref{}, fmt.Errorf("annotation %s: %w", AnnotationImageName, err)
		}
		return r, nil
	}
	n := ann[ocispec.AnnotationRefName]
	if !strings.ContainsAny(n, "/:@") {
		return Ref{}, nil // a bare tag (or nothing) names no repository
	}
	r, err := ParseRef(n)
	if err != nil {
		return Ref{}, fmt.Errorf("annotation %s: %w", ocispec.AnnotationRefName, err)
	}
	return r, nil
}

// addArchiveImage adds img to found: a name seen before takes the later target
// (as a later tag would), an unnamed target is listed once.
func addArchiveImage(found []Image, img Image) []Image {
	for i, f := range found {
		if img.Name.String() != "" && f.Name.String() == img.Name.String() {
			found[i] = img
			return found
		}
		if img.Name.String() == "" && f.Name.String() == "" && f.Target.Digest == img.Target.Digest {
			return found
		}
	}
	return append(found, img)
}
