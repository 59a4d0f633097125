package image

import (
	"fmt"
	"strings"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
)

// Ref is a normalised image reference, as Docker prints and stores it:
// docker.io/library/busybox:latest, or name@sha256:... when pinned.
type Ref struct {
	named reference.Named
}

// ParseRef parses a reference as a user types it, with Docker's grammar
// and normalisation: busybox means docker.io/library/busybox:latest. A
// digest-only reference is kept without a tag.
func ParseRef(s string) (Ref, error) {
	if s == "" {
		return Ref{}, fmt.Errorf("image reference: empty")
	}
	n, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return Ref{}, fmt.Errorf("image reference %q: %w", s, err)
	}
	return Ref{named: reference.TagNameOnly(n)}, nil
}

// String is the full normalised form, the key images are stored under.
func (r Ref) String() string {
	if r.named == nil {
		return ""
	}
	return r.named.String()
}

// Familiar is the short form Docker shows: busybox:latest,
// example.com:5000/app:1.
func (r Ref) Familiar() string {
	if r.named == nil {
		return ""
	}
	return reference.FamiliarString(r.named)
}

// Repository is the name without tag or digest, familiar form (busybox,
// example.com/app), as `berth images` shows it.
func (r Ref) Repository() string {
	if r.named == nil {
		return ""
	}
	return reference.FamiliarName(r.named)
}

// Tag is the tag, or "" for a digest reference.
func (r Ref) Tag() string {
	if t, ok := r.named.(reference.Tagged); ok {
		return t.Tag()
	}
	return ""
}

// Digest is the pinned digest, or "".
func (r Ref) Digest() digest.Digest {
	if d, ok := r.named.(reference.Digested); ok {
		return d.Digest()
	}
	return ""
}

// Domain is the registry host (docker.io for Docker Hub names).
func (r Ref) Domain() string {
	if r.named == nil {
		return ""
	}
	return reference.Domain(r.named)
}

// WithTag returns the reference's name with tag instead of its own.
func (r Ref) WithTag(tag string) (Ref, error) {
	t, err := reference.WithTag(reference.TrimNamed(r.named), tag)
	if err != nil {
		return Ref{}, fmt.Errorf("tag %q: %w", tag, err)
	}
	return Ref{named: t}, nil
}

// IsDigestLike tells whether s looks like an image ID or a prefix of
// one (hex, as `berth rmi 3f4a` takes), rather than a name.
func IsDigestLike(s string) bool {
	s = strings.TrimPrefix(s, "sha256:")
	if len(s) < 3 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
