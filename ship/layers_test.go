package ship

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	digest "github.com/opencontainers/go-digest"

	"berth/image"
)

// tarOf is a layer tar holding one file.
func tarOf(t *testing.T, name, body string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte(body))
	tw.Close()
	return buf.Bytes()
}

func tarLayer(t *testing.T, b []byte, opts ...tarball.LayerOption) v1.Layer {
	t.Helper()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestPullCompressions pulls an OCI image of a gzip, a zstd and an
// uncompressed layer, and unpacks it: every layer's uncompressed digest
// matches its diff ID.
func TestPullCompressions(t *testing.T) {
	ctx := context.Background()
	gz := tarLayer(t, tarOf(t, "gzip.txt", "g"), tarball.WithMediaType(types.OCILayer))
	zs := tarLayer(t, tarOf(t, "zstd.txt", "z"), tarball.WithCompression(compression.ZStd), tarball.WithMediaType(types.OCILayerZStd))
	plain := static.NewLayer(tarOf(t, "plain.txt", "p"), types.OCIUncompressedLayer)
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, gz, zs, plain)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf.OS, cf.Architecture = "linux", image.HostPlatform().Architecture
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	reg := newTestRegistry(t)
	want := reg.put(t, "mixed", "1", img)
	st := newStore(t)
	ref := mustRef(t, reg.host+"/mixed:1")
	res, err := testClient().Pull(ctx, st, ref, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Target.Digest.String() != want.String() || res.Target.MediaType != string(types.OCIManifestSchema1) {
		t.Fatalf("pulled %+v, want OCI manifest %s", res.Target, want)
	}
	stored, err := st.Get(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	top, err := st.Unpack(ctx, stored)
	if err != nil {
		t.Fatalf("unpack: %v", err)
	}
	var diffIDs []digest.Digest
	for _, d := range cf.RootFS.DiffIDs {
		diffIDs = append(diffIDs, digest.Digest(d.String()))
	}
	if chain := image.ChainIDs(diffIDs); top != chain[len(chain)-1] {
		t.Fatalf("unpacked to %s, want chain %s", top, chain[len(chain)-1])
	}
	checkStore(t, st)
}

// TestPullForeignLayer: a non-distributable layer the registry does not
// have is fetched from its URL and verified; a push skips it.
func TestPullForeignLayer(t *testing.T) {
	ctx := context.Background()
	fl := tarLayer(t, tarOf(t, "foreign.txt", "from elsewhere"))
	blob, err := fl.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	fb, _ := io.ReadAll(blob)
	var hits atomic.Int32
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write(fb)
	}))
	defer foreign.Close()
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: fl, URLs: []string{foreign.URL + "/layer"}, MediaType: types.DockerForeignLayer})
	if err != nil {
		t.Fatal(err)
	}
	reg := newTestRegistry(t)
	want := reg.put(t, "win", "1", img)
	fd, _ := fl.Digest()
	// The registry does not serve it, as for a Windows base layer.
	reg.setFault(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if !isBlobGet(r, fd.String()) && !(r.Method == http.MethodHead && strings.HasSuffix(r.URL.Path, fd.String())) {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}`))
		return true
	})
	st := newStore(t)
	res, err := testClient().Pull(ctx, st, mustRef(t, reg.host+"/win:1"), PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Target.Digest.String() != want.String() || hits.Load() != 1 || !st.Content().Exists(digest.Digest(fd.String())) {
		t.Fatalf("pull: %+v, %d fetches from the layer's URL", res, hits.Load())
	}
	dst := mustRef(t, reg.host+"/win2:1")
	if err := st.Tag(ctx, dst, res.Target); err != nil {
		t.Fatal(err)
	}
	pres, err := testClient().Push(ctx, st, dst, PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pres.Pushed+pres.Existed+pres.Mounted != 1 { // the config only
		t.Fatalf("push handled %+v blobs, want the config only", pres)
	}
}
