package registry

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// post sends a POST with body and returns the answer.
func post(t *testing.T, u string, body []byte) *http.Response {
	t.Helper()
	resp, err := http.Post(u, "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// blobBody GETs a blob, "" if it is not there.
func blobBody(t *testing.T, base, repo string, d digest.Digest) string {
	t.Helper()
	resp, err := http.Get(base + "/v2/" + repo + "/blobs/" + d.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestPostOnlyUpload(t *testing.T) {
	root := t.TempDir()
	srv := start(t, Options{Root: root})
	base := "http://" + srv.addr
	body := []byte("one request upload")
	d := digest.FromBytes(body)
	resp := post(t, base+"/v2/one/shot/blobs/uploads/?digest="+d.String(), body)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Docker-Content-Digest") != d.String() ||
		!strings.HasSuffix(resp.Header.Get("Location"), "/v2/one/shot/blobs/"+d.String()) {
		t.Fatalf("POST with digest: %s %v", resp.Status, resp.Header)
	}
	if got := blobBody(t, base, "one/shot", d); got != string(body) {
		t.Fatalf("blob reads %q", got)
	}
	// A wrong digest is refused, nothing stored, no session left behind.
	bad := digest.FromString("something else")
	if resp := post(t, base+"/v2/one/shot/blobs/uploads/?digest="+bad.String(), body); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("POST with a wrong digest: %s", resp.Status)
	}
	if got := blobBody(t, base, "one/shot", bad); got != "" {
		t.Fatal("blob stored under a wrong digest")
	}
	if n, _, _ := countBlobs(root); n != 1 {
		t.Errorf("%d blobs stored, want 1", n)
	}
	if uploads := countUploads(t, root); uploads != 0 {
		t.Errorf("%d upload sessions left", uploads)
	}
}

func TestAnonymousMount(t *testing.T) {
	srv := start(t, Options{Root: t.TempDir()})
	base := "http://" + srv.addr
	body := []byte("shared between repositories")
	d := digest.FromBytes(body)
	if resp := post(t, base+"/v2/team/src/blobs/uploads/?digest="+d.String(), body); resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %s", resp.Status)
	}
	resp := post(t, base+"/v2/other/dst/blobs/uploads/?mount="+d.String(), nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("anonymous mount: %s", resp.Status)
	}
	if got := blobBody(t, base, "other/dst", d); got != string(body) {
		t.Fatalf("mounted blob reads %q", got)
	}
	// A blob no repository holds opens an upload session (202), as the
	// spec says.
	missing := digest.FromString("nowhere")
	if resp := post(t, base+"/v2/other/dst/blobs/uploads/?mount="+missing.String(), nil); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("mount of a missing blob: %s", resp.Status)
	}
}

func TestIsUploadStart(t *testing.T) {
	for path, want := range map[string]string{
		"/v2/a/blobs/uploads/":     "a",
		"/v2/a/b/c/blobs/uploads/": "a/b/c",
		"/v2/blobs/uploads/":       "",
		"/v2/a/blobs/uploads/x":    "",
		"/v1/a/blobs/uploads/":     "",
	} {
		r, _ := http.NewRequest(http.MethodPost, "http://x"+path, nil)
		repo, ok := isUploadStart(r)
		if repo != want || ok != (want != "") {
			t.Errorf("%s: %q %v, want %q", path, repo, ok, want)
		}
	}
}
