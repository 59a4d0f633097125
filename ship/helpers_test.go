package ship

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth/content"
	"berth/image"
)

// testRegistry is go-containerregistry's in-memory registry on loopback,
// counting the blob bytes it serves, with a hook to misbehave.
type testRegistry struct {
	srv    *httptest.Server
	host   string
	served atomic.Int64 // bytes of blob GET responses written

	mu    sync.Mutex
	fault func(w http.ResponseWriter, r *http.Request, next http.Handler) bool
}

func newTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	tr := &testRegistry{}
	reg := registry.New(registry.Logger(nopLogger()))
	tr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			w = &countingWriter{ResponseWriter: w, n: &tr.served}
		}
		tr.mu.Lock()
		f := tr.fault
		tr.mu.Unlock()
		if f != nil && f(w, r, reg) {
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(tr.srv.Close)
	tr.host = strings.TrimPrefix(tr.srv.URL, "http://")
	return tr
}

// setFault installs f (nil removes it): it handles a request and returns
// true, or returns false to let the registry answer.
func (tr *testRegistry) setFault(f func(w http.ResponseWriter, r *http.Request, next http.Handler) bool) {
	tr.mu.Lock()
	tr.fault = f
	tr.mu.Unlock()
}

// put pushes img as host/repo:tag with go-containerregistry and returns
// the manifest digest.
func (tr *testRegistry) put(t *testing.T, repo, tag string, img v1.Image) v1.Hash {
	t.Helper()
	ref, err := name.ParseReference(tr.host + "/" + repo + ":" + tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// remoteDigest is the digest the registry has for host/repo:tag.
func (tr *testRegistry) remoteDigest(t *testing.T, repo, tag string) string {
	t.Helper()
	ref, err := name.ParseReference(tr.host + "/" + repo + ":" + tag)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(ref)
	if err != nil {
		t.Fatal(err)
	}
	return d.Digest.String()
}

// countingWriter counts the bytes a handler writes.
type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (c *countingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := c.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("not a hijacker")
	}
	return h.Hijack()
}

// cutWriter passes limit bytes, then drops the connection.
type cutWriter struct {
	http.ResponseWriter
	left int64
}

func (c *cutWriter) Write(b []byte) (int, error) {
	if c.left <= 0 {
		return 0, c.cut()
	}
	p := b
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.ResponseWriter.Write(p)
	c.left -= int64(n)
	if err == nil && n < len(b) {
		return n, c.cut()
	}
	return n, err
}

func (c *cutWriter) cut() error {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	if h, ok := c.ResponseWriter.(http.Hijacker); ok {
		if conn, _, err := h.Hijack(); err == nil {
			conn.Close()
		}
	}
	return errors.New("connection cut by the test")
}

func nopLogger() *log.Logger { return log.New(io.Discard, "", 0) }

// testClient is a client with short back-off, quiet.
func testClient() *Client {
	c := New(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	c.backoff = time.Millisecond
	return c
}

// newStore opens an image store in a temporary directory.
func newStore(t *testing.T) *image.Store {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (the image store's snapshotter)")
	}
	st, err := image.Open(context.Background(), t.TempDir(), image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// mustRef parses a reference.
func mustRef(t *testing.T, s string) image.Ref {
	t.Helper()
	r, err := image.ParseRef(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// randomImage is an image of n random (incompressible) layers of about
// size bytes in all.
func randomImage(t *testing.T, size, n int64) v1.Image {
	t.Helper()
	img, err := random.Image(size, n)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// pullWant pulls ref into st with a test client and checks that the
// image pulled is want.
func pullWant(t *testing.T, st *image.Store, ref image.Ref, want v1.Hash) PullResult {
	t.Helper()
	res, err := testClient().Pull(context.Background(), st, ref, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Target.Digest.String() != want.String() {
		t.Fatalf("pulled %s, want %s", res.Target.Digest, want)
	}
	return res
}

// checkStore asserts the content store is sound: every blob verified,
// no partial write left.
func checkStore(t *testing.T, st *image.Store) content.Report {
	t.Helper()
	rep, err := st.Content().Check(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 0 {
		t.Fatalf("content check found %+v", rep.Findings)
	}
	return rep
}

// layersOf lists an image's layer descriptors as berth sees them.
func layersOf(t *testing.T, img v1.Image) []ocispec.Descriptor {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var out []ocispec.Descriptor
	for _, l := range m.Layers {
		out = append(out, ocispec.Descriptor{MediaType: string(l.MediaType), Digest: digestOf(l.Digest), Size: l.Size})
	}
	return out
}

func digestOf(h v1.Hash) digest.Digest { return digest.Digest(h.String()) }

// v1Desc is an index entry's descriptor for platform p.
func v1Desc(p ocispec.Platform) v1.Descriptor {
	return v1.Descriptor{Platform: &v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}}
}

// putIndex pushes idx as host/repo:tag.
func putIndex(t *testing.T, tr *testRegistry, repo, tag string, idx v1.ImageIndex) {
	t.Helper()
	ref, err := name.ParseReference(tr.host + "/" + repo + ":" + tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// randomIndexBytes is an OCI index of one random image.
func randomIndexBytes(t *testing.T) ([]byte, v1.ImageIndex) {
	t.Helper()
	idx, err := random.Index(1024, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := idx.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	return b, idx
}

// putTLS pushes img to a TLS test server with a client trusting it.
func putTLS(t *testing.T, tr *testRegistry, srv *httptest.Server, repo, tag string, img v1.Image) string {
	t.Helper()
	ref, err := name.ParseReference(tr.host + "/" + repo + ":" + tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithTransport(schemeTransport{host: tr.host, scheme: "https", inner: srv.Client().Transport})); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return d.String()
}
