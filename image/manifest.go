package image

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// MaxManifestSize bounds manifests, indexes and configs read from
// untrusted sources (registries allow 4 MiB manifests).
const MaxManifestSize = 8 << 20

// ErrMediaType says a document is not what its media type says.
var ErrMediaType = errors.New("document does not match its media type")

// checkDescriptor refuses a descriptor with a malformed digest or size.
func checkDescriptor(what string, d ocispec.Descriptor) error {
	if err := d.Digest.Validate(); err != nil {
		return fmt.Errorf("%s: digest %q: %w", what, d.Digest, err)
	}
	if d.Size < 0 {
		return fmt.Errorf("%s: negative size %d", what, d.Size)
	}
	return nil
}

// decodeStrict decodes one JSON object and refuses trailing data.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON document")
	}
	return nil
}

// envelope is what every manifest and index has in common.
type envelope struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	Config        json.RawMessage   `json:"config"`
	Layers        json.RawMessage   `json:"layers"`
	Manifests     json.RawMessage   `json:"manifests"`
	FSLayers      []json.RawMessage `json:"fsLayers"`
}

// SniffMediaType tells which kind of document b is when no media type came
// with it (a docker-archive, a blob named only by digest): its mediaType
// field, else its shape.
func SniffMediaType(b []byte) (string, error) {
	var e envelope
	if err := decodeStrict(b, &e); err != nil {
		return "", fmt.Errorf("not a JSON manifest: %w", err)
	}
	switch {
	case e.MediaType != "":
		return e.MediaType, nil
	case e.FSLayers != nil || e.SchemaVersion == 1:
		return "", errors.New("Docker schema 1 manifests are not supported")
	case e.Manifests != nil:
		return ocispec.MediaTypeImageIndex, nil
	case e.Config != nil && e.Layers != nil:
		return ocispec.MediaTypeImageManifest, nil
	}
	return "", errors.New("neither a manifest nor an index")
}

// DecodeManifest parses an image manifest of either format and checks it:
// mediaType (from the descriptor it was fetched by; "" to trust the
// document) must agree with the document's own, the config and every layer
// must be well-formed descriptors of the right kinds.
func DecodeManifest(b []byte, mediaType string) (ocispec.Manifest, error) {
	var m ocispec.Manifest
	if len(b) > MaxManifestSize {
		return m, fmt.Errorf("manifest of %d bytes: larger than %d", len(b), MaxManifestSize)
	}
	var e envelope
	if err := decodeStrict(b, &e); err != nil {
		return m, fmt.Errorf("parse manifest: %w", err)
	}
	if e.Manifests != nil {
		return m, fmt.Errorf("manifest: has an index's manifests: %w", ErrMediaType)
	}
	if err := decodeStrict(b, &m); err != nil {
		return m, fmt.Errorf("parse manifest: %w", err)
	}
	if m.SchemaVersion != 2 {
		return m, fmt.Errorf("manifest: schemaVersion %d, want 2", m.SchemaVersion)
	}
	if err := agree(mediaType, m.MediaType, IsManifest); err != nil {
		return m, fmt.Errorf("manifest: %w", err)
	}
	if m.MediaType == "" {
		m.MediaType = ocispec.MediaTypeImageManifest
		if mediaType != "" {
			m.MediaType = mediaType
		}
	}
	if err := checkDescriptor("manifest config", m.Config); err != nil {
		return m, err
	}
	if !IsConfig(m.Config.MediaType) {
		return m, fmt.Errorf("manifest config: media type %q is not an image config", m.Config.MediaType)
	}
	for i, l := range m.Layers {
		what := fmt.Sprintf("manifest layers[%d]", i)
		if err := checkDescriptor(what, l); err != nil {
			return m, err
		}
		if !IsLayer(l.MediaType) {
			return m, fmt.Errorf("%s: media type %q is not a layer berth can unpack", what, l.MediaType)
		}
	}
	return m, nil
}

// DecodeIndex parses an OCI index or a Docker manifest list and checks
// its entries.
func DecodeIndex(b []byte, mediaType string) (ocispec.Index, error) {
	var idx ocispec.Index
	if len(b) > MaxManifestSize {
		return idx, fmt.Errorf("index of %d bytes: larger than %d", len(b), MaxManifestSize)
	}
	var e envelope
	if err := decodeStrict(b, &e); err != nil {
		return idx, fmt.Errorf("parse index: %w", err)
	}
	if e.Layers != nil || e.Config != nil {
		return idx, fmt.Errorf("index: has a manifest's config or layers: %w", ErrMediaType)
	}
	if err := decodeStrict(b, &idx); err != nil {
		return idx, fmt.Errorf("parse index: %w", err)
	}
	if idx.SchemaVersion != 2 {
		return idx, fmt.Errorf("index: schemaVersion %d, want 2", idx.SchemaVersion)
	}
	if err := agree(mediaType, idx.MediaType, IsIndex); err != nil {
		return idx, fmt.Errorf("index: %w", err)
	}
	if idx.MediaType == "" {
		idx.MediaType = ocispec.MediaTypeImageIndex
		if mediaType != "" {
			idx.MediaType = mediaType
		}
	}
	for i, d := range idx.Manifests {
		if err := checkDescriptor(fmt.Sprintf("index manifests[%d]", i), d); err != nil {
			return idx, err
		}
	}
	return idx, nil
}

// agree checks the media type a document was fetched as against the one
// it declares, both of the kind ok accepts.
func agree(fetched, declared string, ok func(string) bool) error {
	if declared != "" && !ok(declared) {
		return fmt.Errorf("declares media type %q: %w", declared, ErrMediaType)
	}
	if fetched != "" && !ok(fetched) {
		return fmt.Errorf("fetched as %q: %w", fetched, ErrMediaType)
	}
	if fetched != "" && declared != "" && fetched != declared {
		return fmt.Errorf("fetched as %q but declares %q: %w", fetched, declared, ErrMediaType)
	}
	return nil
}

// DecodeConfig parses an image configuration and checks its root
// filesystem: type layers, well-formed diff IDs.
func DecodeConfig(b []byte) (ocispec.Image, error) {
	var c ocispec.Image
	if len(b) > MaxManifestSize {
		return c, fmt.Errorf("image config of %d bytes: larger than %d", len(b), MaxManifestSize)
	}
	if err := decodeStrict(b, &c); err != nil {
		return c, fmt.Errorf("parse image config: %w", err)
	}
	if c.RootFS.Type != "layers" {
		return c, fmt.Errorf("image config: rootfs.type %q, want layers", c.RootFS.Type)
	}
	for i, d := range c.RootFS.DiffIDs {
		if err := d.Validate(); err != nil {
			return c, fmt.Errorf("image config: rootfs.diff_ids[%d] %q: %w", i, d, err)
		}
	}
	return c, nil
}

// ChainIDs returns the chain ID of each layer stack of diffIDs, as the
// OCI image spec defines it: ChainID(L0) = DiffID(L0), ChainID(L0..n) =
// sha256(ChainID(L0..n-1) + " " + DiffID(Ln)). Snapshots are keyed by it.
func ChainIDs(diffIDs []digest.Digest) []digest.Digest {
	out := make([]digest.Digest, len(diffIDs))
	for i, d := range diffIDs {
		if i == 0 {
			out[i] = d
			continue
		}
		out[i] = digest.FromString(out[i-1].String() + " " + d.String())
	}
	return out
}
