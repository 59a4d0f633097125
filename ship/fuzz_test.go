package ship

import (
	"encoding/json"
	"net/url"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth/image"
)

// FuzzParseContentRange: any header either parses to a first byte no
// greater than the last, or is an error; never a panic.
func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-9/10", "bytes 5-9/*", "bytes 9-5/10", "bytes -1-2/3", "items 0-1/2", "bytes 0-99999999999999999999/1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		start, err := parseContentRange(h)
		if err == nil && start < 0 {
			t.Fatalf("%q: negative start %d", h, start)
		}
	})
}

// FuzzNextPage: a registry's Link header yields no next page, an error,
// or a URL on the registry itself; never a panic.
func FuzzNextPage(f *testing.F) {
	for _, s := range []string{`</v2/a/tags/list?last=b>; rel="next"`, `<http://evil/x>`, `<>`, `<`, `x`, `<//other/v2>`, ""} {
		f.Add(s)
	}
	base, _ := url.Parse("https://reg:5000/v2/a/tags/list?n=2")
	f.Fuzz(func(t *testing.T, link string) {
		next, err := nextPage(base, link, "https", "reg:5000")
		if err != nil || next == "" {
			return
		}
		u, err := url.Parse(next)
		if err != nil || u.Scheme != "https" || u.Host != "reg:5000" {
			t.Fatalf("%q: next page %q is not on the registry", link, next)
		}
	})
}

// FuzzManifestDocument runs what a pull does with a registry's answer:
// the media type from Content-Type or the document, then the manifest or
// index decoding and the platform selection.
func FuzzManifestDocument(f *testing.F) {
	idx, _ := json.Marshal(ocispec.Index{
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{{
			MediaType: ocispec.MediaTypeImageManifest, Digest: "sha256:" + zeros, Size: 10,
			Platform: &ocispec.Platform{OS: "linux", Architecture: "amd64"},
		}},
	})
	f.Add("application/vnd.oci.image.index.v1+json", idx, "linux/amd64")
	f.Add("application/json", []byte(`{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:`+zeros+`","size":2},"layers":[]}`), "linux/arm64/v8")
	f.Add("text/html", []byte(`<html>`), "windows/amd64")
	f.Fuzz(func(t *testing.T, contentType string, b []byte, platform string) {
		mt, err := manifestType(contentType, b)
		if err != nil {
			return
		}
		if !image.IsManifest(mt) && !image.IsIndex(mt) {
			t.Fatalf("manifestType gave %q", mt)
		}
		p, perr := image.ParsePlatform(platform)
		if image.IsIndex(mt) {
			i, err := image.DecodeIndex(b, mt)
			if err != nil || perr != nil {
				return
			}
			if d, err := image.SelectManifest(i, p); err == nil && (d.Platform == nil || !image.MatchPlatform(*d.Platform, p)) {
				t.Fatalf("selected %+v for %s", d, platform)
			}
			return
		}
		_, _ = image.DecodeManifest(b, mt)
	})
}

const zeros = "0000000000000000000000000000000000000000000000000000000000000000"
