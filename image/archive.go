package image

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth/content"
)

// Archives: `berth save` and `berth load`.
//
// An archive is a tar stream. berth writes two kinds:
//
//   - SaveOCI: an OCI image layout (oci-layout, index.json, blobs/sha256/).
//     index.json has one entry per image name, annotated as containerd and
//     Docker 25 annotate it: io.containerd.image.name is the full name
//     (docker.io/library/busybox:latest), org.opencontainers.image.ref.name
//     its tag (latest). skopeo (oci-archive:) and umoci read it.
//   - SaveDocker (the default): the same layout plus Docker's manifest.json
//     ([{Config, RepoTags, Layers}] with paths into blobs/sha256/), which is
//     what Docker 25 and later write, so that one archive loads into old
//     and new Docker alike.
//
// Blobs are written exactly as they are in the store: layers stay
// compressed (gzip as berth writes them, or whatever was pulled), so the
// manifest and config digests survive save → load unchanged. Docker's
// `load` has decompressed the layer files of manifest.json since 1.10
// (moby image/tarexport: archive.DecompressStream), and checks their
// uncompressed digests against the config's diff_ids, so compressed layer
// files are accepted by every Docker that reads manifest.json.
//
// Archives are reproducible: the same images give the same bytes. Entries
// are sorted by name, with mtime 0, uid/gid 0, no user or group names,
// modes 0755 (directories) and 0644 (files).

// SaveFormat is the layout Save writes.
type SaveFormat int

const (
	// SaveDocker writes an OCI image layout and Docker's manifest.json in
	// one tar, as Docker 25 does: `docker load` of any version since 1.10,
	// containerd, skopeo and berth all read it.
	SaveDocker SaveFormat = iota
	// SaveOCI writes a pure OCI image layout.
	SaveOCI
)

// String names the format as ParseSaveFormat takes it.
func (f SaveFormat) String() string {
	switch f {
	case SaveDocker:
		return "docker"
	case SaveOCI:
		return "oci"
	}
	return fmt.Sprintf("SaveFormat(%d)", int(f))
}

// ParseSaveFormat reads a format name as `berth save --format` takes it:
// "docker" (or "docker-archive", or "") and "oci" (or "oci-archive").
func ParseSaveFormat(s string) (SaveFormat, error) {
	switch s {
	case "", "docker", "docker-archive":
		return SaveDocker, nil
	case "oci", "oci-archive":
		return SaveOCI, nil
	}
	return 0, fmt.Errorf("archive format %q: want docker or oci", s)
}

// AnnotationImageName is the index.json annotation containerd and Docker
// 25 put the full image name in; org.opencontainers.image.ref.name
// (ocispec.AnnotationRefName) holds only the tag.
const AnnotationImageName = "io.containerd.image.name"

// Archive file names.
const (
	archiveLayoutFile   = ocispec.ImageLayoutFile // oci-layout
	archiveIndexFile    = "index.json"
	archiveManifestFile = "manifest.json" // docker-archive
	archiveReposFile    = "repositories"  // docker-archive before Docker 25
)

// dockerArchiveManifest is one entry of a docker-archive's manifest.json.
// Paths are relative to the archive root.
type dockerArchiveManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
	// LayerSources (foreign layers' descriptors) is read by Docker and
	// ignored here: berth neither writes nor fetches foreign layers.
	LayerSources map[digest.Digest]ocispec.Descriptor `json:",omitempty"`
}

// savePlan is what one archive holds, gathered before anything is
// written so that a missing blob fails the save before its first byte.
type savePlan struct {
	blobs  map[digest.Digest]int64 // every blob, with its size
	index  []ocispec.Descriptor    // index.json entries
	docker []dockerArchiveManifest // manifest.json entries
}

// Save writes imgs to w as one archive in format. Every blob the images
// reach (for an index: the manifests of every platform whose blobs are
// all in the store) is written; an image whose manifest, config or a layer
// is missing fails the save before anything is written. Blobs are
// re-hashed while they are copied, so a corrupt store is not exported.
// An image with no name (zero Ref) is saved without annotations and with
// no RepoTags. The content store is held while writing, so garbage
// collection cannot remove a blob under the save.
func (s *Store) Save(ctx context.Context, w io.Writer, imgs []Image, format SaveFormat) error {
	if format != SaveDocker && format != SaveOCI {
		return fmt.Errorf("save: unknown archive format %d", int(format))
	}
	if len(imgs) == 0 {
		return fmt.Errorf("save: no images given")
	}
	release, err := s.content.Hold(ctx)
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	defer release()
	plan, err := s.planSave(ctx, imgs, format == SaveDocker)
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	if err := s.writeArchive(ctx, w, plan, format == SaveDocker); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	return nil
}

// planSave walks the images' graphs and lays out index.json and
// manifest.json.
func (s *Store) planSave(ctx context.Context, imgs []Image, docker bool) (savePlan, error) {
	p := savePlan{blobs: map[digest.Digest]int64{}}
	// Sort a copy so the archive does not depend on the order of imgs.
	sorted := append([]Image(nil), imgs...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if a, b := sorted[i].Name.String(), sorted[j].Name.String(); a != b {
			return a < b
		}
		return sorted[i].Target.Digest < sorted[j].Target.Digest
	})
	seen := map[string]bool{}
	byManifest := map[digest.Digest]int{} // manifest digest -> p.docker index
	for _, img := range sorted {
		what := archiveImageLabel(img)
		key := img.Name.String() + "\x00" + img.Target.Digest.String()
		if seen[key] {
			continue
		}
		seen[key] = true
		if err := s.collectForSave(img.Target, 0, p.blobs); err != nil {
			return p, fmt.Errorf("image %s: %w", what, err)
		}
		p.index = append(p.index, archiveIndexEntry(img))
		if !docker {
			continue
		}
		if err := ctx.Err(); err != nil {
			return p, err
		}
		m, md, err := s.Manifest(ctx, img)
		if err != nil {
			return p, fmt.Errorf("image %s: %w", what, err)
		}
		if _, ok := p.blobs[md.Digest]; !ok {
			return p, fmt.Errorf("image %s: manifest %s for %s is not complete in the store", what, md.Digest, FormatPlatform(s.platform))
		}
		i, ok := byManifest[md.Digest]
		if !ok {
			e := dockerArchiveManifest{Config: archiveBlobPath(m.Config.Digest), Layers: []string{}}
			for _, l := range m.Layers {
				e.Layers = append(e.Layers, archiveBlobPath(l.Digest))
			}
			p.docker = append(p.docker, e)
			i = len(p.docker) - 1
			byManifest[md.Digest] = i
		}
		if img.Name.Tag() != "" {
			p.docker[i].RepoTags = append(p.docker[i].RepoTags, img.Name.Familiar())
		}
	}
	return p, nil
}

// archiveImageLabel names an image in errors: its name, else its target.
func archiveImageLabel(img Image) string {
	if n := img.Name.Familiar(); n != "" {
		return n
	}
	return img.Target.Digest.String()
}

// archiveIndexEntry is img's index.json entry: its target, annotated with its
// name as containerd and Docker 25 do.
func archiveIndexEntry(img Image) ocispec.Descriptor {
	d := ocispec.Descriptor{
		MediaType: img.Target.MediaType,
		Digest:    img.Target.Digest,
		Size:      img.Target.Size,
		Platform:  img.Target.Platform,
	}
	if img.Name.String() == "" {
		return d
	}
	d.Annotations = map[string]string{AnnotationImageName: img.Name.String()}
	if t := img.Name.Tag(); t != "" {
		d.Annotations[ocispec.AnnotationRefName] = t
	}
	return d
}

// collectForSave adds the blobs d reaches to blobs. A manifest must be complete;
// an index keeps the platforms whose manifests are complete (a pull
// stores only the host's) and needs at least one.
func (s *Store) collectForSave(d ocispec.Descriptor, depth int, blobs map[digest.Digest]int64) error {
	if depth > 4 {
		return fmt.Errorf("%s: indexes nested too deep", d.Digest)
	}
	b, err := s.readBlob(d)
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
		for _, c := range idx.Manifests {
			if c.MediaType == "" {
				c.MediaType = ocispec.MediaTypeImageManifest
			}
			sub := map[digest.Digest]int64{}
			if err := s.collectForSave(c, depth+1, sub); err != nil {
				s.log.Debug("save: leaving out an incomplete platform", "index", d.Digest, "manifest", c.Digest, "error", err)
				continue
			}
			for k, v := range sub {
				blobs[k] = v
			}
			kept++
		}
		if kept == 0 {
			return fmt.Errorf("index %s: no platform's image is complete in the store", d.Digest)
		}
	case IsManifest(d.MediaType):
		m, err := DecodeManifest(b, d.MediaType)
		if err != nil {
			return fmt.Errorf("manifest %s: %w", d.Digest, err)
		}
		for _, l := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
			info, err := s.content.Info(l.Digest)
			if err != nil {
				return fmt.Errorf("manifest %s: %w", d.Digest, err)
			}
			if l.Size != 0 && info.Size != l.Size {
				return fmt.Errorf("manifest %s: blob %s is %d bytes, the manifest says %d", d.Digest, l.Digest, info.Size, l.Size)
			}
			blobs[l.Digest] = info.Size
		}
	default:
		return fmt.Errorf("%s: media type %q is neither a manifest nor an index", d.Digest, d.MediaType)
	}
	blobs[d.Digest] = int64(len(b))
	return nil
}

// archiveBlobPath is where a blob lives in an OCI layout.
func archiveBlobPath(d digest.Digest) string {
	return "blobs/" + d.Algorithm().String() + "/" + d.Encoded()
}

// archiveEpoch is every entry's mtime, for reproducible archives.
var archiveEpoch = time.Unix(0, 0).UTC()

// writeArchive writes the planned archive, entries sorted by name.
func (s *Store) writeArchive(ctx context.Context, w io.Writer, p savePlan, docker bool) error {
	tw := tar.NewWriter(w)
	dirs := map[string]bool{"blobs/": true}
	digests := make([]digest.Digest, 0, len(p.blobs))
	for d := range p.blobs {
		digests = append(digests, d)
		dirs["blobs/"+d.Algorithm().String()+"/"] = true
	}
	sort.Slice(digests, func(i, j int) bool { return archiveBlobPath(digests[i]) < archiveBlobPath(digests[j]) })
	dirNames := make([]string, 0, len(dirs))
	for d := range dirs {
		dirNames = append(dirNames, d)
	}
	sort.Strings(dirNames)
	for _, d := range dirNames {
		if err := tw.WriteHeader(archiveHeader(d, tar.TypeDir, 0)); err != nil {
			return fmt.Errorf("write %s: %w", d, err)
		}
	}
	for _, d := range digests {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.copyBlob(tw, d, p.blobs[d]); err != nil {
			return err
		}
	}
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: p.index}
	idx.SchemaVersion = 2
	ib, err := json.Marshal(idx)
	if err != nil {
		return fmt.Errorf("encode index.json: %w", err)
	}
	files := []struct {
		name string
		data []byte
	}{{archiveIndexFile, ib}}
	if docker {
		mb, err := json.Marshal(p.docker)
		if err != nil {
			return fmt.Errorf("encode manifest.json: %w", err)
		}
		files = append(files, struct {
			name string
			data []byte
		}{archiveManifestFile, mb})
	}
	lb, err := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	if err != nil {
		return fmt.Errorf("encode oci-layout: %w", err)
	}
	files = append(files, struct {
		name string
		data []byte
	}{archiveLayoutFile, lb})
	for _, f := range files {
		if err := tw.WriteHeader(archiveHeader(f.name, tar.TypeReg, int64(len(f.data)))); err != nil {
			return fmt.Errorf("write %s: %w", f.name, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return fmt.Errorf("write %s: %w", f.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("finish archive: %w", err)
	}
	return nil
}

// archiveHeader is a reproducible tar header.
func archiveHeader(name string, typ byte, size int64) *tar.Header {
	mode := int64(0o644)
	if typ == tar.TypeDir {
		mode = 0o755
	}
	return &tar.Header{Typeflag: typ, Name: name, Size: size, Mode: mode, ModTime: archiveEpoch}
}

// copyBlob writes blob d into the archive, checking its digest on the way:
// a blob corrupted on disk fails the save instead of being exported.
func (s *Store) copyBlob(tw *tar.Writer, d digest.Digest, size int64) error {
	f, err := s.content.Open(d)
	if err != nil {
		return fmt.Errorf("blob %s: %w", d, err)
	}
	defer f.Close()
	name := archiveBlobPath(d)
	if err := tw.WriteHeader(archiveHeader(name, tar.TypeReg, size)); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	v := d.Verifier()
	n, err := io.Copy(io.MultiWriter(tw, v), io.LimitReader(f, size))
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if n != size || !v.Verified() {
		return fmt.Errorf("blob %s is corrupt in the store (run a store check): %w", d, content.ErrDigestMismatch)
	}
	return nil
}
