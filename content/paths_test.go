package content

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// hostileDigests are names an attacker (a manifest, a registry, a CLI
// argument) may hand the store.
var hostileDigests = []digest.Digest{
	"",
	"sha256",
	"sha256:",
	":abc",
	"sha256:../../../../etc/passwd",
	digest.Digest("sha256:" + strings.Repeat("a", 63) + "/"),
	digest.Digest("sha256/../../x:" + strings.Repeat("a", 64)),
	digest.Digest("../sha256:" + strings.Repeat("a", 64)),
	digest.Digest("sha256:" + strings.Repeat("g", 64)),
	digest.Digest("sha256:" + strings.Repeat("A", 64)),
	digest.Digest("sha256:" + strings.Repeat("a", 65)),
	digest.Digest("sha256:" + strings.Repeat("a", 63)),
	digest.Digest("sha256:" + strings.Repeat("a", 63) + "\x00"),
	"sha512:abc",
	digest.Digest("sha384:" + strings.Repeat("a", 96)), // valid, but not a layout algorithm here
	"md5:d41d8cd98f00b204e9800998ecf8427e",
	digest.Digest("blake3:" + strings.Repeat("a", 64)),
	digest.Digest("SHA256:" + strings.Repeat("a", 64)),
	digest.Digest("sha256:" + strings.Repeat("a", 64) + "\n"),
	digest.Digest("sha256:" + strings.Repeat("a", 100000)),
}

func TestHostileDigests(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	s, err := Open(filepath.Join(parent, "content"))
	if err != nil {
		t.Fatal(err)
	}
	// Something an escape would reach.
	victim := filepath.Join(parent, "victim")
	os.WriteFile(victim, []byte("x"), 0o644)
	before := listTree(t, parent)
	for _, d := range hostileDigests {
		errs := map[string]error{
			"Open":     second(s.Open(d)),
			"ReadBlob": second(s.ReadBlob(d, 1<<20)),
			"Info":     second(s.Info(d)),
			"Path":     second(s.Path(d)),
			"Delete":   s.Delete(d),
		}
		if d != "" { // an empty digest is "unknown" to writers
			errs["Writer"] = second(s.Writer(ctx, "ref", ocispec.Descriptor{Digest: d}))
			errs["Ingest"] = second(s.Ingest(ctx, strings.NewReader("x"), ocispec.Descriptor{Digest: d}))
		}
		for op, err := range errs {
			if !errors.Is(err, ErrInvalidDigest) {
				t.Errorf("%s(%q) = %v, want ErrInvalidDigest", op, d, err)
			} else if len(err.Error()) > 400 {
				t.Errorf("%s: error message of %d bytes", op, len(err.Error()))
			}
		}
		if s.Exists(d) {
			t.Errorf("Exists(%q)", d)
		}
	}
	if after := listTree(t, parent); strings.Join(before, "\n") != strings.Join(after, "\n") {
		t.Fatalf("hostile digests changed the tree:\n%v\n%v", before, after)
	}
}

func TestHostileRefs(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	s, err := Open(filepath.Join(parent, "content"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"", "a\x00b", "line\nbreak", "\x7f", string([]byte{0xff, 0xfe}), strings.Repeat("r", maxRefLen+1)} {
		if _, err := s.Writer(ctx, ref, ocispec.Descriptor{}); !errors.Is(err, ErrInvalidRef) {
			t.Errorf("Writer(%q) = %v, want ErrInvalidRef", ref, err)
		}
	}
	// Refs that look like paths are only names: each gets a hashed
	// directory under ingest/, nothing is created anywhere else.
	before := listTree(t, parent)
	for _, ref := range []string{"../../../../tmp/x", "/etc/passwd", ".", "..", "a/../../b", "docker.io/library/alpine:3@sha256:abc", "ingest/../blobs/sha256/x", strings.Repeat("r", maxRefLen)} {
		w, err := s.Writer(ctx, ref, ocispec.Descriptor{})
		if err != nil {
			t.Fatalf("Writer(%q): %v", ref, err)
		}
		rel, _ := filepath.Rel(s.Dir(), w.dir)
		if dir, name := filepath.Split(rel); dir != ingestDir+"/" || !isIngestName(name) {
			t.Fatalf("ref %q wrote in %s", ref, rel)
		}
		w.Write([]byte(ref))
		w.Abort()
	}
	if after := listTree(t, parent); strings.Join(before, "\n") != strings.Join(after, "\n") {
		t.Fatalf("hostile refs changed the tree:\n%v\n%v", before, after)
	}
}

// FuzzBlobPath: whatever the digest, blobPath either refuses it or names
// a file directly in blobs/<alg>/ named by the encoded part.
func FuzzBlobPath(f *testing.F) {
	for _, d := range hostileDigests {
		f.Add(string(d))
	}
	f.Add(string(digest.FromString("x")))
	f.Add(string(digest.SHA512.FromString("x")))
	s := &Store{dir: "/store"}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := s.blobPath(digest.Digest(in))
		if err != nil {
			if !errors.Is(err, ErrInvalidDigest) {
				t.Fatalf("error %v does not wrap ErrInvalidDigest", err)
			}
			return
		}
		d := digest.Digest(in)
		want := filepath.Join("/store", "blobs", string(d.Algorithm()), d.Encoded())
		if p != want || filepath.Clean(p) != p || filepath.Dir(filepath.Dir(p)) != "/store/blobs" {
			t.Fatalf("digest %q -> path %q", in, p)
		}
		if d.Algorithm() != digest.SHA256 && d.Algorithm() != digest.SHA512 {
			t.Fatalf("algorithm %q accepted", d.Algorithm())
		}
	})
}

// FuzzIngestName: whatever the ref, ingestName refuses it or yields one
// plain 64-hex name.
func FuzzIngestName(f *testing.F) {
	for _, r := range []string{"", "..", "../x", "/", "a\x00", "sha256:abc", "import-1", strings.Repeat("x", 2000)} {
		f.Add(r)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		name, err := ingestName(ref)
		if err != nil {
			if !errors.Is(err, ErrInvalidRef) {
				t.Fatalf("error %v does not wrap ErrInvalidRef", err)
			}
			return
		}
		if !isIngestName(name) || filepath.Base(name) != name {
			t.Fatalf("ref %q -> name %q", ref, name)
		}
	})
}
