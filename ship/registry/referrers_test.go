package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/registry/auth"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/crypto/bcrypt"
)

// put uploads a blob (monolithic POST+PUT) or a manifest.
func put(t *testing.T, base, repo string, body []byte, manifestRef, mediaType string) *http.Response {
	t.Helper()
	if manifestRef == "" {
		resp, err := http.Post(base+"/v2/"+repo+"/blobs/uploads/", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if !strings.HasPrefix(loc, "http") {
			loc = base + loc
		}
		sep := "?"
		if strings.Contains(loc, "?") {
			sep = "&"
		}
		req, _ := http.NewRequest(http.MethodPut, loc+sep+"digest="+digest.FromBytes(body).String(), bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("blob put: %s", resp.Status)
		}
		return resp
	}
	req, _ := http.NewRequest(http.MethodPut, base+"/v2/"+repo+"/manifests/"+manifestRef, bytes.NewReader(body))
	req.Header.Set("Content-Type", mediaType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("manifest put: %s", resp.Status)
	}
	return resp
}

func TestReferrers(t *testing.T) {
	srv := start(t, Options{Root: t.TempDir()})
	base := "http://" + srv.addr
	repo := "ref/test"
	cfg := []byte("{}")
	put(t, base, repo, cfg, "", "")
	cfgDesc := ocispec.Descriptor{MediaType: "application/vnd.oci.empty.v1+json", Digest: digest.FromBytes(cfg), Size: 2}
	subject, _ := json.Marshal(ocispec.Manifest{Versioned: specsV2, MediaType: ocispec.MediaTypeImageManifest, Config: cfgDesc, Layers: []ocispec.Descriptor{}})
	subjectDesc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(subject), Size: int64(len(subject))}
	if resp := put(t, base, repo, subject, "v1", ocispec.MediaTypeImageManifest); resp.Header.Get("OCI-Subject") != "" {
		t.Errorf("OCI-Subject on a manifest without subject")
	}
	mk := func(artifactType string, ann string) []byte {
		b, _ := json.Marshal(ocispec.Manifest{Versioned: specsV2, MediaType: ocispec.MediaTypeImageManifest,
			ArtifactType: artifactType, Config: cfgDesc, Layers: []ocispec.Descriptor{},
			Subject: &subjectDesc, Annotations: map[string]string{"n": ann}})
		return b
	}
	sig, sbom := mk("application/x-sig", "1"), mk("application/x-sbom", "2")
	for _, m := range [][]byte{sig, sbom} {
		resp := put(t, base, repo, m, digest.FromBytes(m).String(), ocispec.MediaTypeImageManifest)
		if got := resp.Header.Get("OCI-Subject"); got != subjectDesc.Digest.String() {
			t.Errorf("OCI-Subject = %q, want %s", got, subjectDesc.Digest)
		}
	}
	list := func(query string) (ocispec.Index, http.Header) {
		resp, err := http.Get(base + "/v2/" + repo + "/referrers/" + subjectDesc.Digest.String() + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != ocispec.MediaTypeImageIndex {
			t.Fatalf("referrers: %s %s", resp.Status, resp.Header.Get("Content-Type"))
		}
		var idx ocispec.Index
		if err := json.NewDecoder(resp.Body).Decode(&idx); err != nil {
			t.Fatal(err)
		}
		return idx, resp.Header
	}
	idx, _ := list("")
	if len(idx.Manifests) != 2 {
		t.Fatalf("%d referrers, want 2: %+v", len(idx.Manifests), idx)
	}
	for _, d := range idx.Manifests {
		var want []byte
		switch d.ArtifactType {
		case "application/x-sig":
			want = sig
		case "application/x-sbom":
			want = sbom
		default:
			t.Fatalf("artifact type %q", d.ArtifactType)
		}
		if d.Digest != digest.FromBytes(want) || d.Size != int64(len(want)) || d.MediaType != ocispec.MediaTypeImageManifest || d.Annotations["n"] == "" {
			t.Errorf("descriptor %+v", d)
		}
	}
	idx, h := list("?artifactType=application/x-sbom")
	if len(idx.Manifests) != 1 || idx.Manifests[0].Digest != digest.FromBytes(sbom) || h.Get("OCI-Filters-Applied") != "artifactType" {
		t.Errorf("filtered: %+v %v", idx, h)
	}
	// An unknown subject or repository has an empty list, a bad digest is
	// refused.
	resp, _ := http.Get(base + "/v2/none/referrers/" + subjectDesc.Digest.String())
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("unknown repository: %s", resp.Status)
	}
	resp, _ = http.Get(base + "/v2/" + repo + "/referrers/sha256:nothex")
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad digest: %s", resp.Status)
	}
	// A deleted referrer leaves the list.
	req, _ := http.NewRequest(http.MethodDelete, base+"/v2/"+repo+"/manifests/"+digest.FromBytes(sig).String(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if idx, _ := list(""); len(idx.Manifests) != 1 || idx.Manifests[0].ArtifactType != "application/x-sbom" {
		t.Errorf("after delete: %+v", idx)
	}
}

func TestSplitRoute(t *testing.T) {
	cases := []struct{ path, kind, name, ref string }{
		{"/v2/a/referrers/sha256:x", "referrers", "a", "sha256:x"},
		{"/v2/a/b/c/manifests/latest", "manifests", "a/b/c", "latest"},
		{"/v2/referrers/referrers/x", "referrers", "referrers", "x"},
	}
	for _, c := range cases {
		n, r, ok := splitRoute(c.path, c.kind)
		if !ok || n != c.name || r != c.ref {
			t.Errorf("%s: %q %q %v", c.path, n, r, ok)
		}
	}
	for _, p := range []string{"/v2/referrers/x", "/v2//referrers/", "/v1/a/referrers/x", "/v2/a/referrers/x/y", "/v2/a/referrers/"} {
		if n, r, ok := splitRoute(p, "referrers"); ok {
			t.Errorf("%s: accepted as %q %q", p, n, r)
		}
	}
}

func FuzzReferrerOf(f *testing.F) {
	d := digest.FromString("x")
	f.Add([]byte(`{"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"a/b"},"subject":{"digest":"`+d.String()+`"}}`), "")
	f.Add([]byte(`{"subject":{"digest":5}}`), "application/vnd.oci.image.index.v1+json")
	f.Fuzz(func(t *testing.T, payload []byte, mediaType string) {
		desc, ok := referrerOf(payload, mediaType, d)
		if ok && desc.Size != int64(len(payload)) {
			t.Fatalf("size %d of a %d-byte manifest", desc.Size, len(payload))
		}
		if s := subjectOf(payload); ok && s != d.String() {
			t.Fatalf("referrerOf matched, subjectOf says %q", s)
		}
	})
}

func FuzzSplitRoute(f *testing.F) {
	f.Add("/v2/a/b/referrers/sha256:x", "referrers")
	f.Fuzz(func(t *testing.T, path, kind string) {
		n, r, ok := splitRoute(path, kind)
		if ok && (n == "" || r == "" || strings.Contains(r, "/") || "/v2/"+n+"/"+kind+"/"+r != path) {
			t.Fatalf("%q %q: %q %q", path, kind, n, r)
		}
	})
}

// FuzzHtpasswd feeds arbitrary htpasswd files to the access controller the
// server uses: a malformed file must refuse requests, not crash.
func FuzzHtpasswd(f *testing.F) {
	f.Add([]byte("alice:$2y$05$6Yc0h1mQ9c5v3dJ0yqj2uO2nq1Xy8qZ2b6aQ3oZ5lR8uT1v0wX9yK\n"), "alice", "pw")
	f.Add([]byte("# comment\n\n:::\nbob\n"), "bob", "")
	f.Fuzz(func(t *testing.T, file []byte, user, pass string) {
		// A hash's cost is the file's (the administrator's) choice, and a
		// cost of 31 takes hours to check: such files are not the point.
		for _, line := range strings.Split(string(file), "\n") {
			if _, h, ok := strings.Cut(line, ":"); ok {
				if c, err := bcrypt.Cost([]byte(strings.TrimSpace(h))); err == nil && c > 6 {
					return
				}
			}
		}
		p := filepath.Join(t.TempDir(), "htpasswd")
		if err := os.WriteFile(p, file, 0o600); err != nil {
			t.Fatal(err)
		}
		ac, err := auth.GetAccessController("htpasswd", map[string]any{"realm": realm, "path": p})
		if err != nil {
			return
		}
		req, _ := http.NewRequest(http.MethodGet, "http://x/v2/", nil)
		req.SetBasicAuth(user, pass)
		if g, err := ac.Authorized(req); err == nil && g.User.Name != user {
			t.Fatal(fmt.Sprintf("granted to %q for user %q", g.User.Name, user))
		}
	})
}

// specsV2 is the schema version of OCI manifests and indexes.
var specsV2 = specs.Versioned{SchemaVersion: 2}
