package registry

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth/internal/regtest"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	"golang.org/x/crypto/bcrypt"
)

// running is a server started by a test, stopped at its end.
type running struct {
	addr string
	stop func() error
}

// start serves opts (Addr defaults to a free loopback port) until the
// test ends or stop is called.
func start(t *testing.T, opts Options) *running {
	t.Helper()
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	RouteLogs(opts.Logger) // distribution logs through logrus's global logger
	s, err := New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	stopped := false
	var serr error
	stop := func() error {
		if !stopped {
			stopped = true
			cancel()
			serr = <-done
		}
		return serr
	}
	t.Cleanup(func() { stop() })
	return &running{addr: s.Addr(), stop: stop}
}

// layer is a layer of fixed content.
func layer(s string) v1.Layer { return static.NewLayer([]byte(s), types.OCIUncompressedLayer) }

// image builds an image of layers.
func image(t *testing.T, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layers...)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	return img
}

func ref(t *testing.T, addr, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(addr+"/"+s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// blobDigests lists the digests of an image's config and layers.
func blobDigests(t *testing.T, img v1.Image) []v1.Hash {
	t.Helper()
	cfg, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	out := []v1.Hash{cfg}
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		d, _ := l.Digest()
		out = append(out, d)
	}
	return out
}

// hasBlob tells whether the store in root holds blob d.
func hasBlob(root string, d v1.Hash) bool {
	_, err := os.Stat(filepath.Join(root, "docker/registry/v2/blobs", d.Algorithm, d.Hex[:2], d.Hex, "data"))
	return err == nil
}

func TestPushDeleteGCPull(t *testing.T) {
	root := t.TempDir()
	srv := start(t, Options{Root: root})
	shared := layer("shared layer content")
	a := image(t, shared, layer("only in a"))
	b := image(t, shared, layer("only in b"))
	ra, rb := ref(t, srv.addr, "test/a:1"), ref(t, srv.addr, "test/b:1")
	for r, img := range map[name.Reference]v1.Image{ra: a, rb: b} {
		if err := remote.Write(r, img); err != nil {
			t.Fatalf("push %s: %v", r, err)
		}
	}
	bDigest, _ := b.Digest()
	if err := remote.Delete(ref(t, srv.addr, "test/b@"+bDigest.String())); err != nil {
		t.Fatalf("delete manifest: %v", err)
	}

	// gc refuses while the server holds the root.
	if _, err := GC(t.Context(), root, GCOptions{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("gc with the server running: %v, want ErrLocked", err)
	}
	if err := srv.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	aBlobs, bBlobs := blobDigests(t, a), blobDigests(t, b)
	// A dry run deletes nothing.
	res, err := GC(t.Context(), root, GCOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.BlobsAfter != res.BlobsBefore || !hasBlob(root, bBlobs[2]) {
		t.Fatalf("dry run deleted: %+v", res)
	}
	res, err = GC(t.Context(), root, GCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// b's manifest, config and own layer went; a's and the shared layer stay.
	if got := res.BlobsBefore - res.BlobsAfter; got != 3 || res.BytesFreed <= int64(len("only in b")) {
		t.Errorf("gc deleted %d blobs (%d bytes), want 3", got, res.BytesFreed)
	}
	for _, d := range aBlobs {
		if !hasBlob(root, d) {
			t.Errorf("blob %s of the kept image was deleted", d)
		}
	}
	for _, d := range bBlobs[1:] {
		if d == aBlobs[1] {
			if !hasBlob(root, d) {
				t.Errorf("shared blob %s deleted", d)
			}
			continue
		}
		if hasBlob(root, d) {
			t.Errorf("blob %s of the deleted image kept", d)
		}
	}

	// The remaining image still pulls, every blob verified.
	srv = start(t, Options{Root: root})
	img, err := remote.Image(ref(t, srv.addr, "test/a:1"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := a.Digest()
	if got, _ := img.Digest(); got != want {
		t.Errorf("pulled digest %s, pushed %s", got, want)
	}
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		rc, err := l.Compressed() // verifies the digest at EOF
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			t.Fatalf("layer: %v", err)
		}
		rc.Close()
	}
	if _, err := remote.Image(ref(t, srv.addr, "test/b:1")); err == nil {
		t.Error("deleted image still pulls")
	}
}

func TestGCEmptyRoot(t *testing.T) {
	res, err := GC(t.Context(), t.TempDir(), GCOptions{})
	if err != nil || res != (GCResult{}) {
		t.Fatalf("gc of an empty root: %+v %v", res, err)
	}
}

func TestRootLocked(t *testing.T) {
	root := t.TempDir()
	start(t, Options{Root: root})
	_, err := New(t.Context(), Options{Root: root, Addr: "127.0.0.1:0"})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second server on the root: %v, want ErrLocked", err)
	}
}

func TestBadOptions(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "htpasswd")
	for _, o := range []Options{
		{Root: dir, Addr: "127.0.0.1:0", Htpasswd: missing},
		{Root: dir, Addr: "127.0.0.1:0", TLSCert: "x"},
		{Root: "", Addr: "127.0.0.1:0"},
		{Root: dir, Addr: "127.0.0.1:0", TLSCert: missing, TLSKey: missing},
	} {
		if s, err := New(t.Context(), o); err == nil {
			s.Close()
			t.Errorf("%+v accepted", o)
		}
	}
	// distribution would have created the file with a random password.
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing htpasswd file was created: %v", err)
	}
	// The failed New released the lock.
	s, err := New(t.Context(), Options{Root: dir, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("after failures: %v", err)
	}
	s.Close()
}

// writeHtpasswd writes an htpasswd file with one bcrypt user.
func writeHtpasswd(t *testing.T, user, pass string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(p, []byte(user+":"+string(h)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHtpasswd(t *testing.T) {
	srv := start(t, Options{Root: t.TempDir(), Htpasswd: writeHtpasswd(t, "alice", "s3cret")})
	get := func(path, user, pass string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, "http://"+srv.addr+path, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := get("/v2/", "", "")
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic realm=") {
		t.Errorf("anonymous: %s %q", resp.Status, resp.Header.Get("WWW-Authenticate"))
	}
	if resp := get("/v2/", "alice", "wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: %s", resp.Status)
	}
	if resp := get("/v2/", "alice", "s3cret"); resp.StatusCode != http.StatusOK {
		t.Errorf("good password: %s", resp.Status)
	}
	// The referrers API, served by berth in front of distribution, is
	// guarded too.
	sub := "/v2/x/referrers/sha256:" + strings.Repeat("0", 64)
	if resp := get(sub, "", ""); resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("anonymous referrers: %s", resp.Status)
	}
	if resp := get(sub, "alice", "s3cret"); resp.StatusCode != http.StatusOK {
		t.Errorf("referrers with credentials: %s", resp.Status)
	}
	// Push and pull with credentials; anonymous push refused.
	img := image(t, layer("secret layer"))
	r := ref(t, srv.addr, "private/img:1")
	if err := remote.Write(r, img); err == nil {
		t.Error("anonymous push accepted")
	}
	creds := remote.WithAuth(&authn.Basic{Username: "alice", Password: "s3cret"})
	if err := remote.Write(r, img, creds); err != nil {
		t.Fatalf("push with credentials: %v", err)
	}
	got, err := remote.Image(r, creds)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if d, _ := got.Digest(); d != want {
		t.Errorf("pulled %s, pushed %s", d, want)
	}
}

// TestHtpasswdRefusesBeforeReading: without credentials, the requests
// berth handles in front of distribution (manifest pushes, one-request
// uploads, mounts) get the challenge before their body is read or the
// storage searched: a 401, whatever the body.
func TestHtpasswdRefusesBeforeReading(t *testing.T) {
	srv := start(t, Options{Root: t.TempDir(), Htpasswd: writeHtpasswd(t, "alice", "s3cret")})
	base := "http://" + srv.addr
	huge := bytes.Repeat([]byte("x"), 5<<20)
	small := []byte("blob")
	for _, c := range []struct {
		method, path string
		body         []byte
	}{
		{http.MethodPut, "/v2/r/manifests/latest", huge},
		{http.MethodPut, "/v2/r/manifests/" + digest.SHA512.FromBytes(huge).String(), huge},
		{http.MethodPut, "/v2/r/manifests/" + digest.SHA512.FromBytes(small).String(), small},
		{http.MethodPost, "/v2/r/blobs/uploads/?digest=" + digest.FromBytes(small).String(), small},
		{http.MethodPost, "/v2/r/blobs/uploads/?mount=" + digest.FromBytes(small).String(), nil},
		{http.MethodPost, "/v2/r/blobs/uploads/?mount=" + digest.SHA512.FromBytes(small).String() + "&from=s", nil},
	} {
		req, _ := http.NewRequest(c.method, base+c.path, bytes.NewReader(c.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic realm=") {
			t.Errorf("anonymous %s %s: %s %q, want 401 with a challenge", c.method, c.path, resp.Status, resp.Header.Get("WWW-Authenticate"))
		}
	}
}

func TestTLS(t *testing.T) {
	cert, key, pool := regtest.SelfSigned(t, t.TempDir())
	srv := start(t, Options{Root: t.TempDir(), TLSCert: cert, TLSKey: key})
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := trusting.Get("https://" + srv.addr + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Errorf("TLS /v2/: %s", resp.Status)
	}
	// A client that does not trust the certificate is refused.
	var uerr x509.UnknownAuthorityError
	if _, err := (&http.Client{Transport: &http.Transport{}}).Get("https://" + srv.addr + "/v2/"); !errors.As(err, &uerr) {
		t.Errorf("untrusting client: %v, want an unknown-authority error", err)
	}
	// Plain HTTP gets no registry answer.
	if resp, err := http.Get("http://" + srv.addr + "/v2/"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP served on the TLS port")
		}
	}
	// A push over TLS round-trips.
	img := image(t, layer("tls layer"))
	r, _ := name.ParseReference(srv.addr + "/tls/img:1")
	tr := remote.WithTransport(&http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}})
	if err := remote.Write(r, img, tr); err != nil {
		t.Fatal(err)
	}
	got, err := remote.Image(r, tr)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if d, _ := got.Digest(); d != want {
		t.Errorf("pulled %s, pushed %s", d, want)
	}
}

// countUploads counts the upload sessions holding data in a root. (A
// cancelled session leaves an empty hash state file behind, which is
// distribution's; its upload purger removes it.)
func countUploads(t *testing.T, root string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(filepath.Join(root, "docker/registry/v2/repositories"), func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "data" && filepath.Base(filepath.Dir(filepath.Dir(path))) == "_uploads" {
			n++
		}
		return nil
	})
	return n
}
