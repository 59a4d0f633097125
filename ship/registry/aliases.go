package registry

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
)

// aliases records, for content addressed by another algorithm than
// sha256 (sha512), the sha256 digest distribution stores it under, and
// for manifests pushed by such a digest the way back. The files live in
// <root>/berth/aliases: <alg>/<hex> holds the sha256 digest,
// by-sha256/<hex> the other one. A mapping is written only after the
// content was verified against both digests.
type aliases struct{ dir string }

func newAliases(root string) aliases { return aliases{dir: filepath.Join(root, "berth", "aliases")} }

// canonical reports whether d is addressed by sha256, distribution's
// storage algorithm.
func canonical(d digest.Digest) bool { return d.Algorithm() == digest.SHA256 }

func (a aliases) path(d digest.Digest) string {
	return filepath.Join(a.dir, string(d.Algorithm()), d.Encoded())
}

func (a aliases) reversePath(d digest.Digest) string {
	return filepath.Join(a.dir, "by-sha256", d.Encoded())
}

// put records that alias and sha256 address the same content; reverse
// also records the way back (for manifests pushed by alias).
func (a aliases) put(alias, sha256 digest.Digest, reverse bool) error {
	if err := writeAtomic(a.path(alias), sha256.String()); err != nil {
		return err
	}
	if reverse {
		return writeAtomic(a.reversePath(sha256), alias.String())
	}
	return nil
}

// target is the sha256 digest of alias's content, if recorded.
func (a aliases) target(alias digest.Digest) (digest.Digest, bool) {
	return readDigest(a.path(alias))
}

// alias is the digest a manifest stored as sha256 was pushed by, if it
// was pushed by another algorithm.
func (a aliases) alias(sha256 digest.Digest) (digest.Digest, bool) {
	if !canonical(sha256) {
		return "", false
	}
	return readDigest(a.reversePath(sha256))
}

func readDigest(path string) (digest.Digest, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	d, err := digest.Parse(strings.TrimSpace(string(b)))
	if err != nil {
		return "", false
	}
	return d, true
}

// writeAtomic writes content to path through a temporary file.
func writeAtomic(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return fmt.Errorf("registry: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	return nil
}
