package registry

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// do sends a request and returns the answer with its body read.
func do(t *testing.T, method, u, contentType string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	// distribution serves OCI manifests only to clients that accept them.
	req.Header.Set("Accept", ocispec.MediaTypeImageManifest+", "+ocispec.MediaTypeImageIndex)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// upload512 uploads body as a blob of repo by its sha512 digest (POST,
// then PUT with the body) and checks the answer names that digest.
func upload512(t *testing.T, base, repo string, body []byte) ocispec.Descriptor {
	t.Helper()
	d := digest.SHA512.FromBytes(body)
	resp, _ := do(t, http.MethodPost, base+"/v2/"+repo+"/blobs/uploads/", "", nil)
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "http") {
		loc = base + loc
	}
	resp, _ = do(t, http.MethodPut, loc+"&digest="+d.String(), "application/octet-stream", body)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Docker-Content-Digest") != d.String() ||
		!strings.HasSuffix(resp.Header.Get("Location"), "/blobs/"+d.String()) {
		t.Fatalf("sha512 upload: %s %v", resp.Status, resp.Header)
	}
	return ocispec.Descriptor{MediaType: "application/octet-stream", Digest: d, Size: int64(len(body))}
}

// TestSHA512Content: blobs and manifests addressed by sha512 are stored,
// served, mounted and listed under that digest, an index may name them,
// and gc keeps what they reference.
func TestSHA512Content(t *testing.T) {
	root := t.TempDir()
	srv := start(t, Options{Root: root})
	base := "http://" + srv.addr
	cfg := upload512(t, base, "s5/a", []byte(`{"architecture":"amd64","os":"linux"}`))
	cfg.MediaType = ocispec.MediaTypeImageConfig
	layer := upload512(t, base, "s5/a", []byte("a layer addressed by sha512"))
	layer.MediaType = ocispec.MediaTypeImageLayer
	resp, body := do(t, http.MethodGet, base+"/v2/s5/a/blobs/"+layer.Digest.String(), "", nil)
	if resp.StatusCode != http.StatusOK || string(body) != "a layer addressed by sha512" || resp.Header.Get("Docker-Content-Digest") != layer.Digest.String() {
		t.Fatalf("GET sha512 blob: %s %q %v", resp.Status, body, resp.Header)
	}

	m, _ := json.Marshal(ocispec.Manifest{Versioned: specsV2, MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: []ocispec.Descriptor{layer}})
	md := digest.SHA512.FromBytes(m)
	if resp, _ := do(t, http.MethodPut, base+"/v2/s5/a/manifests/"+digest.SHA512.FromString("other").String(), ocispec.MediaTypeImageManifest, m); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("manifest under a wrong sha512 digest: %s", resp.Status)
	}
	resp, _ = do(t, http.MethodPut, base+"/v2/s5/a/manifests/"+md.String(), ocispec.MediaTypeImageManifest, m)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Docker-Content-Digest") != md.String() {
		t.Fatalf("PUT manifest by sha512: %s %v", resp.Status, resp.Header)
	}
	resp, body = do(t, http.MethodGet, base+"/v2/s5/a/manifests/"+md.String(), "", nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, m) || resp.Header.Get("Docker-Content-Digest") != md.String() {
		t.Fatalf("GET manifest by sha512: %s %v", resp.Status, resp.Header)
	}
	// An index naming the manifest by its sha512 digest passes the
	// existence check; an artifact with it as subject is listed by its
	// own sha512 digest.
	idx, _ := json.Marshal(ocispec.Index{Versioned: specsV2, MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{{MediaType: ocispec.MediaTypeImageManifest, Digest: md, Size: int64(len(m))}}})
	resp, _ = do(t, http.MethodPut, base+"/v2/s5/a/manifests/"+digest.SHA512.FromBytes(idx).String(), ocispec.MediaTypeImageIndex, idx)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT index naming a sha512 manifest: %s", resp.Status)
	}
	subject := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: md, Size: int64(len(m))}
	art, _ := json.Marshal(ocispec.Manifest{Versioned: specsV2, MediaType: ocispec.MediaTypeImageManifest, ArtifactType: "application/x-sig",
		Config: cfg, Layers: []ocispec.Descriptor{layer}, Subject: &subject})
	ad := digest.SHA512.FromBytes(art)
	resp, _ = do(t, http.MethodPut, base+"/v2/s5/a/manifests/"+ad.String(), ocispec.MediaTypeImageManifest, art)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("OCI-Subject") != md.String() {
		t.Fatalf("PUT artifact: %s %v", resp.Status, resp.Header)
	}
	_, body = do(t, http.MethodGet, base+"/v2/s5/a/referrers/"+md.String(), "", nil)
	var list ocispec.Index
	if err := json.Unmarshal(body, &list); err != nil || len(list.Manifests) != 1 || list.Manifests[0].Digest != ad {
		t.Fatalf("referrers of a sha512 manifest: %v %s", err, body)
	}
	// Mounted into another repository, the blob keeps its digest.
	resp, _ = do(t, http.MethodPost, base+"/v2/s5/b/blobs/uploads/?mount="+layer.Digest.String()+"&from=s5/a", "", nil)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Docker-Content-Digest") != layer.Digest.String() {
		t.Fatalf("mount of a sha512 blob: %s %v", resp.Status, resp.Header)
	}
	if resp, _ := do(t, http.MethodHead, base+"/v2/s5/b/blobs/"+layer.Digest.String(), "", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("HEAD mounted sha512 blob: %s", resp.Status)
	}

	// gc keeps every blob referenced through sha512, and deletes the one
	// uploaded by sha512 that nothing references.
	stray := upload512(t, base, "s5/a", []byte("referenced by nothing"))
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	res, err := GC(t.Context(), root, GCOptions{DeleteUntagged: false})
	if err != nil {
		t.Fatal(err)
	}
	if res.BlobsBefore-res.BlobsAfter != 1 || res.BytesFreed != stray.Size {
		t.Fatalf("gc: %+v, want only the stray blob (%d bytes) deleted", res, stray.Size)
	}
	srv = start(t, Options{Root: root})
	base = "http://" + srv.addr
	if resp, body := do(t, http.MethodGet, base+"/v2/s5/a/blobs/"+layer.Digest.String(), "", nil); resp.StatusCode != http.StatusOK || string(body) != "a layer addressed by sha512" {
		t.Fatalf("blob after gc: %s", resp.Status)
	}
	if resp, _ := do(t, http.MethodHead, base+"/v2/s5/a/blobs/"+stray.Digest.String(), "", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("stray blob after gc: %s", resp.Status)
	}
	// Deleted, the manifest is gone by both digests.
	if resp, _ := do(t, http.MethodDelete, base+"/v2/s5/a/manifests/"+ad.String(), "", nil); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("DELETE by sha512: %s", resp.Status)
	}
	if resp, _ := do(t, http.MethodGet, base+"/v2/s5/a/manifests/"+ad.String(), "", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET deleted manifest: %s", resp.Status)
	}
	if resp, _ := do(t, http.MethodGet, base+"/v2/s5/a/manifests/"+digest.FromBytes(art).String(), "", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET deleted manifest by sha256: %s", resp.Status)
	}
}
