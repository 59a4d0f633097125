package image

import (
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
)

// Ref is a normalised image reference, as Docker prints and stores it:
// docker.io/library/busybox:latest, or name@sha256:... when pinned.
type Ref struct {
	// p is the parsed reference; zero (no path) for the zero Ref, an
	// image without a name. A value, so Refs compare by content with ==.
	p refParts
}

// IsZero tells whether r is the zero Ref (no name).
func (r Ref) IsZero() bool { return r.p.path == "" }

// ParseRef parses a reference as a user types it, with Docker's grammar
// and normalisation: busybox means docker.io/library/busybox:latest. A
// digest-only reference is kept without a tag.
func ParseRef(s string) (Ref, error) {
	if s == "" {
		return Ref{}, fmt.Errorf("image reference: empty")
	}
	p, err := parseNormalized(s)
	if err != nil {
		return Ref{}, fmt.Errorf("image reference %q: %w", s, err)
	}
	if p.tag == "" && p.digest == "" {
		p.tag = defaultTag
	}
	return Ref{p: p}, nil
}

// String is the full normalised form, the key images are stored under
// ("" for the zero Ref, like every accessor).
func (r Ref) String() string { return r.p.String() }

// Familiar is the short form Docker shows: busybox:latest,
// example.com:5000/app:1.
func (r Ref) Familiar() string { return r.p.familiar().String() }

// Repository is the name without tag or digest, familiar form (busybox,
// example.com/app), as `berth images` shows it.
func (r Ref) Repository() string { return r.p.familiar().name() }

// Tag is the tag, or "" for a digest reference.
func (r Ref) Tag() string { return r.p.tag }

// Digest is the pinned digest, or "".
func (r Ref) Digest() digest.Digest { return r.p.digest }

// Domain is the registry host (docker.io for Docker Hub names). It is ""
// in one odd case Docker also has: a first component with a '.' that is
// no valid host but is a valid path component (a_b.c/app).
func (r Ref) Domain() string { return r.p.domain }

// Path is the repository path within the registry, without domain, tag
// or digest: library/busybox for busybox.
func (r Ref) Path() string { return r.p.path }

// WithTag returns the reference's name with tag instead of its own.
func (r Ref) WithTag(tag string) (Ref, error) {
	if r.IsZero() {
		// distribution/reference panicked here; a nameless image has
		// nothing to tag.
		return Ref{}, fmt.Errorf("tag %q: image reference: empty", tag)
	}
	if !isTag(tag) {
		return Ref{}, fmt.Errorf("tag %q: %w", tag, errTagInvalidFormat)
	}
	p := r.p
	p.tag, p.digest = tag, ""
	return Ref{p: p}, nil
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
