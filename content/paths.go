package content

import (
	"crypto/sha256"
	_ "crypto/sha512" // registers sha512 for go-digest: sha512 blobs are read
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"
	"unicode"
	"unicode/utf8"

	digest "github.com/opencontainers/go-digest"
)

// maxRefLen bounds ingest refs: they are names, not payloads.
const maxRefLen = 1024

// parseDigest checks that d is a well-formed digest of an algorithm the
// store reads. Only what it accepts is ever joined into a path, so a
// digest such as "sha256:../../etc" cannot name anything outside blobs/.
func parseDigest(d digest.Digest) (digest.Algorithm, string, error) {
	if err := d.Validate(); err != nil {
		return "", "", fmt.Errorf("%w %s: %v", ErrInvalidDigest, quote(string(d)), err)
	}
	alg := d.Algorithm()
	switch alg {
	case digest.SHA256, digest.SHA512:
	default:
		return "", "", fmt.Errorf("%w %s: algorithm %s not supported", ErrInvalidDigest, quote(string(d)), quote(string(alg)))
	}
	return alg, d.Encoded(), nil
}

// blobPath is where the committed blob d lives.
func (s *Store) blobPath(d digest.Digest) (string, error) {
	alg, enc, err := parseDigest(d)
	if err != nil {
		return "", err
	}
	return filepath.Join(s.dir, blobsDir, string(alg), enc), nil
}

// ingestName maps a writer's ref to its directory name under ingest/. The
// ref is hashed rather than used as a name, so no ref can escape ingest/
// or collide with another's files whatever characters it holds.
func ingestName(ref string) (string, error) {
	if ref == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidRef)
	}
	if len(ref) > maxRefLen {
		return "", fmt.Errorf("%w %s: longer than %d bytes", ErrInvalidRef, quote(ref), maxRefLen)
	}
	if !utf8.ValidString(ref) {
		return "", fmt.Errorf("%w %s: not UTF-8", ErrInvalidRef, quote(ref))
	}
	for _, r := range ref {
		if unicode.IsControl(r) {
			return "", fmt.Errorf("%w %s: control character", ErrInvalidRef, quote(ref))
		}
	}
	sum := sha256.Sum256([]byte(ref))
	return hex.EncodeToString(sum[:]), nil
}

// quote renders untrusted text for an error message: quoted, escaped and
// cut short, so a hostile digest cannot flood or forge a log line.
func quote(s string) string {
	const max = 100
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}
