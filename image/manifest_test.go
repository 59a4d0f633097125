package image

import (
	"errors"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

var (
	dgA = "sha256:" + strings.Repeat("a", 64)
	dgB = "sha256:" + strings.Repeat("b", 64)
)

func manifestJSON(mt, configMT, layerMT string) string {
	s := `{"schemaVersion":2,`
	if mt != "" {
		s += `"mediaType":"` + mt + `",`
	}
	return s + `"config":{"mediaType":"` + configMT + `","digest":"` + dgA + `","size":10},` +
		`"layers":[{"mediaType":"` + layerMT + `","digest":"` + dgB + `","size":20}]}`
}

func TestDecodeManifest(t *testing.T) {
	oci := manifestJSON(ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageConfig, ocispec.MediaTypeImageLayerGzip)
	docker := manifestJSON(MediaTypeDockerManifest, MediaTypeDockerConfig, MediaTypeDockerLayerGzip)
	for _, c := range []struct{ name, doc, fetched string }{
		{"oci", oci, ocispec.MediaTypeImageManifest},
		{"oci untyped fetch", oci, ""},
		{"docker", docker, MediaTypeDockerManifest},
		{"no mediaType field", manifestJSON("", ocispec.MediaTypeImageConfig, ocispec.MediaTypeImageLayer), ocispec.MediaTypeImageManifest},
	} {
		m, err := DecodeManifest([]byte(c.doc), c.fetched)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if m.Config.Digest != digest.Digest(dgA) || len(m.Layers) != 1 || !IsManifest(m.MediaType) {
			t.Errorf("%s: %+v", c.name, m)
		}
	}
	bad := []struct{ name, doc, fetched, want string }{
		{"not json", `{`, "", "parse manifest"},
		{"trailing", oci + `{}`, "", "trailing"},
		{"index as manifest", `{"schemaVersion":2,"manifests":[]}`, ocispec.MediaTypeImageManifest, "index's manifests"},
		{"fetched as index", oci, ocispec.MediaTypeImageIndex, "fetched as"},
		{"media types disagree", docker, ocispec.MediaTypeImageManifest, "declares"},
		{"schema 1", `{"schemaVersion":1,"config":{},"layers":[]}`, "", "schemaVersion 1"},
		{"bad config digest", strings.Replace(oci, dgA, "sha256:zz", 1), "", "manifest config: digest"},
		{"layer not a layer", manifestJSON("", ocispec.MediaTypeImageConfig, "text/plain"), "", "not a layer"},
		{"config not a config", manifestJSON("", "text/plain", ocispec.MediaTypeImageLayer), "", "not an image config"},
		{"negative size", strings.Replace(oci, `"size":20`, `"size":-1`, 1), "", "negative size"},
		{"huge", `{"x":"` + strings.Repeat("a", MaxManifestSize) + `"}`, "", "larger than"},
	}
	for _, c := range bad {
		_, err := DecodeManifest([]byte(c.doc), c.fetched)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := DecodeManifest([]byte(oci), ocispec.MediaTypeImageIndex); !errors.Is(err, ErrMediaType) {
		t.Errorf("a manifest fetched as an index: %v, want ErrMediaType", err)
	}
}

func TestDecodeIndexAndSelect(t *testing.T) {
	doc := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
	 {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + dgA + `","size":1,"platform":{"os":"linux","architecture":"arm64"}},
	 {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + dgB + `","size":1,"platform":{"os":"linux","architecture":"amd64"}},
	 {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + dgA + `","size":1,"platform":{"os":"unknown","architecture":"unknown"}}]}`
	idx, err := DecodeIndex([]byte(doc), ocispec.MediaTypeImageIndex)
	if err != nil {
		t.Fatal(err)
	}
	d, err := SelectManifest(idx, ocispec.Platform{OS: "linux", Architecture: "amd64"})
	if err != nil || d.Digest != digest.Digest(dgB) {
		t.Errorf("amd64: %v %v", d.Digest, err)
	}
	d, err = SelectManifest(idx, ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"})
	if err != nil || d.Digest != digest.Digest(dgA) {
		t.Errorf("arm64/v8: %v %v", d.Digest, err)
	}
	if _, err := SelectManifest(idx, ocispec.Platform{OS: "linux", Architecture: "s390x"}); err == nil || !strings.Contains(err.Error(), "linux/amd64") {
		t.Errorf("s390x: %v", err)
	}
	if _, err := DecodeIndex([]byte(manifestJSON("", ocispec.MediaTypeImageConfig, ocispec.MediaTypeImageLayer)), ""); !errors.Is(err, ErrMediaType) {
		t.Errorf("manifest as index: %v", err)
	}
}

func TestPlatform(t *testing.T) {
	p, err := ParsePlatform("linux/x86_64")
	if err != nil || p.Architecture != "amd64" || FormatPlatform(p) != "linux/amd64" {
		t.Errorf("%+v %v", p, err)
	}
	for _, bad := range []string{"linux", "/amd64", "a/b/c/d", ""} {
		if _, err := ParsePlatform(bad); err == nil {
			t.Errorf("ParsePlatform(%q): no error", bad)
		}
	}
}

func TestDecodeConfigAndChainIDs(t *testing.T) {
	c, err := DecodeConfig([]byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["` + dgA + `","` + dgB + `"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	chain := ChainIDs(c.RootFS.DiffIDs)
	want := digest.FromString(dgA + " " + dgB)
	if chain[0] != digest.Digest(dgA) || chain[1] != want {
		t.Errorf("chain %v", chain)
	}
	for _, bad := range []string{`[]`, `nope`, `{"rootfs":{"type":"tar"}}`, `{"rootfs":{"type":"layers","diff_ids":["x"]}}`} {
		if _, err := DecodeConfig([]byte(bad)); err == nil {
			t.Errorf("DecodeConfig(%s): no error", bad)
		}
	}
}

func FuzzDecodeManifest(f *testing.F) {
	f.Add([]byte(manifestJSON(ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageConfig, ocispec.MediaTypeImageLayerGzip)), ocispec.MediaTypeImageManifest)
	f.Add([]byte(`{"schemaVersion":2,"manifests":[]}`), ocispec.MediaTypeImageIndex)
	f.Add([]byte(`{"rootfs":{"type":"layers","diff_ids":[]}}`), "")
	f.Fuzz(func(t *testing.T, b []byte, mt string) {
		if m, err := DecodeManifest(b, mt); err == nil {
			if m.Config.Digest.Validate() != nil {
				t.Fatalf("accepted a bad config digest: %q", m.Config.Digest)
			}
			for _, l := range m.Layers {
				if l.Digest.Validate() != nil || !IsLayer(l.MediaType) {
					t.Fatalf("accepted a bad layer: %+v", l)
				}
			}
		}
		if idx, err := DecodeIndex(b, mt); err == nil {
			for _, d := range idx.Manifests {
				if d.Digest.Validate() != nil {
					t.Fatalf("accepted a bad manifest digest: %q", d.Digest)
				}
			}
		}
		_, _ = DecodeConfig(b)
		_, _ = SniffMediaType(b)
	})
}
