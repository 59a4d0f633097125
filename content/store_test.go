package content

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestOpenCreatesLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "content")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "oci-layout"))
	if err != nil || string(b) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Fatalf("oci-layout = %q, %v", b, err)
	}
	var idx ocispec.Index
	b, err = os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil || json.Unmarshal(b, &idx) != nil || idx.SchemaVersion != 2 {
		t.Fatalf("index.json = %q, %v", b, err)
	}
	for _, d := range []string{"blobs/sha256", "ingest"} {
		if fi, err := os.Stat(filepath.Join(dir, d)); err != nil || !fi.IsDir() {
			t.Fatalf("%s: %v", d, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "lock")); err != nil {
		t.Fatal(err)
	}
	// Reopening keeps what is there.
	if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte(`{"schemaVersion":2,"manifests":[{}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "index.json")); !bytes.Contains(b, []byte("[{}]")) {
		t.Fatalf("index.json overwritten: %s", b)
	}
	if s.Dir() != dir {
		t.Fatalf("Dir = %s, want %s", s.Dir(), dir)
	}
	assertClean(t, s)
}

func TestOpenRefusesOtherLayout(t *testing.T) {
	for _, content := range []string{`{"imageLayoutVersion":"9.0.0"}`, `not json`, `{}`} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "oci-layout") && !strings.Contains(err.Error(), "layout version") {
			t.Errorf("oci-layout %s: err = %v", content, err)
		}
	}
}

func TestWriteBlobRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	b := []byte(`{"schemaVersion":2}`)
	desc, err := s.WriteBlob(ctx, ocispec.MediaTypeImageManifest, b)
	if err != nil {
		t.Fatal(err)
	}
	want := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(b), Size: int64(len(b))}
	if desc.Digest != want.Digest || desc.Size != want.Size || desc.MediaType != want.MediaType {
		t.Fatalf("desc = %+v, want %+v", desc, want)
	}
	assertBlob(t, s, desc.Digest, b)
	info, err := s.Info(desc.Digest)
	if err != nil || info.Size != int64(len(b)) || info.Digest != desc.Digest || info.Modified.IsZero() {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	if !s.Exists(desc.Digest) {
		t.Fatal("Exists = false")
	}
	p, err := s.Path(desc.Digest)
	if err != nil || p != filepath.Join(s.Dir(), "blobs", "sha256", desc.Digest.Encoded()) {
		t.Fatalf("Path = %s, %v", p, err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o444 {
		t.Fatalf("blob mode: %v, %v", fi.Mode(), err)
	}
	f, err := s.Open(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	f.Close()
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("Open read %q, %v", got, err)
	}
	var walked []Info
	if err := s.Walk(ctx, func(i Info) error { walked = append(walked, i); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(walked) != 1 || walked[0].Digest != desc.Digest {
		t.Fatalf("Walk = %+v", walked)
	}
	// Writing it again is a no-op.
	if _, err := s.WriteBlob(ctx, ocispec.MediaTypeImageManifest, b); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(desc.Digest); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"Delete again": s.Delete(desc.Digest),
		"Info":         second(s.Info(desc.Digest)),
		"Open":         second(s.Open(desc.Digest)),
		"ReadBlob":     second(s.ReadBlob(desc.Digest, 100)),
		"Path":         second(s.Path(desc.Digest)),
	} {
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), desc.Digest.String()) {
			t.Errorf("%s after Delete: %v, want ErrNotFound naming the digest", name, err)
		}
	}
	if s.Exists(desc.Digest) {
		t.Fatal("Exists after Delete")
	}
	assertClean(t, s)
}

func second[T any](_ T, err error) error { return err }

func TestWriteEmptyBlob(t *testing.T) {
	s := newStore(t)
	desc, err := s.WriteBlob(context.Background(), "x", nil)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Size != 0 || desc.Digest != digest.FromBytes(nil) {
		t.Fatalf("desc = %+v", desc)
	}
	assertBlob(t, s, desc.Digest, nil)
}

func TestReadBlobVerifies(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	b := testData(1, 1000)
	desc, err := s.WriteBlob(ctx, "x", b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadBlob(desc.Digest, 999); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("ReadBlob over the limit: %v", err)
	}
	// Corrupt it on disk: same size, one byte changed.
	p, _ := s.Path(desc.Digest)
	os.Chmod(p, 0o644)
	b[500] ^= 1
	if err := os.WriteFile(p, b, 0o444); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadBlob(desc.Digest, 1000); !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), desc.Digest.String()) {
		t.Fatalf("ReadBlob of a corrupt blob: %v", err)
	}
	// Open does not hash: it is the cheap path.
	f, err := s.Open(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestReadSHA512(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	b := []byte("written by another tool")
	d := digest.SHA512.FromBytes(b)
	dir := filepath.Join(s.Dir(), "blobs", "sha512")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, d.Encoded()), b, 0o444); err != nil {
		t.Fatal(err)
	}
	assertBlob(t, s, d, b)
	if info, err := s.Info(d); err != nil || info.Size != int64(len(b)) {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	var seen bool
	s.Walk(ctx, func(i Info) error { seen = seen || i.Digest == d; return nil })
	if !seen {
		t.Fatal("Walk misses the sha512 blob")
	}
	// Writing sha512 is refused.
	if _, err := s.Writer(ctx, "r", ocispec.Descriptor{Digest: digest.SHA512.FromString("x")}); !errors.Is(err, ErrInvalidDigest) {
		t.Fatalf("sha512 writer: %v", err)
	}
	if rep, err := s.Check(ctx, false); err != nil || !rep.OK() || rep.Blobs != 1 {
		t.Fatalf("Check = %+v, %v", rep, err)
	}
}

func TestIngestVerify(t *testing.T) {
	data := testData(2, 10000)
	right := descOf(data)
	other := digest.FromString("other")
	for _, tc := range []struct {
		name string
		data []byte
		want ocispec.Descriptor
		err  error
	}{
		{"short", data[:9999], right, ErrSizeMismatch},
		{"long", append(append([]byte{}, data...), 'x'), right, ErrSizeMismatch},
		{"wrong digest", data, ocispec.Descriptor{Digest: other, Size: right.Size}, ErrDigestMismatch},
		{"wrong digest no size", data, ocispec.Descriptor{Digest: other}, ErrDigestMismatch},
		{"size only, short", data[:10], ocispec.Descriptor{Size: 11}, ErrSizeMismatch},
		{"negative size", data, ocispec.Descriptor{Size: -1}, ErrSizeMismatch},
		{"bad digest", data, ocispec.Descriptor{Digest: "sha256:zz"}, ErrInvalidDigest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			_, err := s.Ingest(context.Background(), bytes.NewReader(tc.data), tc.want)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if names := blobNames(t, s); len(names) != 0 {
				t.Fatalf("visible after a failed ingest: %v", names)
			}
			assertClean(t, s)
		})
	}
}

func TestIngestComputesDigest(t *testing.T) {
	s := newStore(t)
	data := testData(3, 3<<20)
	desc, err := s.Ingest(context.Background(), bytes.NewReader(data), ocispec.Descriptor{MediaType: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest != digest.FromBytes(data) || desc.Size != int64(len(data)) || desc.MediaType != "m" {
		t.Fatalf("desc = %+v", desc)
	}
	assertBlob(t, s, desc.Digest, data)
	assertClean(t, s)
}

// failReader fails the test if read: the blob is present already.
type failReader struct{ t *testing.T }

func (f failReader) Read([]byte) (int, error) {
	f.t.Error("reader read although the blob is present")
	return 0, io.EOF
}

func TestIngestPresentSkipsReader(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	data := testData(4, 100)
	if _, err := s.Ingest(ctx, bytes.NewReader(data), descOf(data)); err != nil {
		t.Fatal(err)
	}
	desc, err := s.Ingest(ctx, failReader{t}, ocispec.Descriptor{Digest: digest.FromBytes(data)})
	if err != nil || desc.Size != 100 {
		t.Fatalf("desc = %+v, %v", desc, err)
	}
}

// errReader returns data then fails, as a dropped connection.
type errReader struct{ n int }

func (e *errReader) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, errors.New("connection reset")
	}
	n := min(len(p), e.n)
	e.n -= n
	return n, nil
}

func TestIngestFailingReaderLeavesNothing(t *testing.T) {
	s := newStore(t)
	_, err := s.Ingest(context.Background(), &errReader{n: 5000}, ocispec.Descriptor{})
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Ingest(ctx, bytes.NewReader(testData(5, 10)), ocispec.Descriptor{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ingest: %v", err)
	}
	if names := blobNames(t, s); len(names) != 0 {
		t.Fatalf("blobs: %v", names)
	}
	assertClean(t, s)
}
