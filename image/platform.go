package image

import (
	"fmt"
	"runtime"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// HostPlatform is the platform images are selected for by default.
func HostPlatform() ocispec.Platform {
	p := ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH}
	if p.Architecture == "arm64" {
		p.Variant = "v8"
	}
	return p
}

// ParsePlatform parses os/arch[/variant] as --platform takes it, with the
// usual aliases (x86_64, aarch64).
func ParsePlatform(s string) (ocispec.Platform, error) {
	parts := strings.Split(strings.ToLower(s), "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return ocispec.Platform{}, fmt.Errorf("platform %q: want os/arch[/variant]", s)
	}
	p := ocispec.Platform{OS: parts[0], Architecture: normalizeArch(parts[1])}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// FormatPlatform writes p as os/arch[/variant].
func FormatPlatform(p ocispec.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

func normalizeArch(a string) string {
	switch a {
	case "x86_64", "x86-64":
		return "amd64"
	case "aarch64":
		return "arm64"
	case "i386", "i686":
		return "386"
	}
	return a
}

// MatchPlatform tells whether an image for have runs where want is asked
// for: same OS and architecture; a variant only when both name one (arm64
// v8 is arm64's only variant, so its absence matches).
func MatchPlatform(have, want ocispec.Platform) bool {
	if have.OS != want.OS || normalizeArch(have.Architecture) != normalizeArch(want.Architecture) {
		return false
	}
	hv, wv := have.Variant, want.Variant
	if normalizeArch(want.Architecture) == "arm64" {
		if hv == "" {
			hv = "v8"
		}
		if wv == "" {
			wv = "v8"
		}
	}
	return hv == "" || wv == "" || hv == wv
}

// SelectManifest picks the manifest of an index for want: the first entry
// whose platform matches exactly, else the first that matches. Entries
// without a platform (attestations have unknown/unknown) never match.
func SelectManifest(idx ocispec.Index, want ocispec.Platform) (ocispec.Descriptor, error) {
	var loose *ocispec.Descriptor
	for i, d := range idx.Manifests {
		if d.Platform == nil || !IsManifest(d.MediaType) && d.MediaType != "" {
			continue
		}
		if !MatchPlatform(*d.Platform, want) {
			continue
		}
		if d.Platform.Variant == want.Variant {
			return d, nil
		}
		if loose == nil {
			loose = &idx.Manifests[i]
		}
	}
	if loose != nil {
		return *loose, nil
	}
	var have []string
	for _, d := range idx.Manifests {
		if d.Platform != nil {
			have = append(have, FormatPlatform(*d.Platform))
		}
	}
	return ocispec.Descriptor{}, fmt.Errorf("no manifest for platform %s (the index has %s)",
		FormatPlatform(want), strings.Join(have, ", "))
}
