package registry

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
)

// The distribution spec's optional upload forms distribution answers with
// a plain upload session: berth completes them itself, through the App.

// isUploadStart tells whether r is POST /v2/<name>/blobs/uploads/.
func isUploadStart(r *http.Request) (repo string, ok bool) {
	if r.Method != http.MethodPost {
		return "", false
	}
	rest, found := strings.CutPrefix(r.URL.Path, "/v2/")
	if !found {
		return "", false
	}
	repo, found = strings.CutSuffix(rest, "/blobs/uploads/")
	if !found || repo == "" {
		return "", false
	}
	return repo, true
}

// anonymousMount turns a mount without a source repository (?mount=<d>
// and no from=) into a mount from a repository that holds the blob, so
// that the blob is linked instead of uploaded again. Every user of an
// htpasswd registry may read every repository, so naming one leaks
// nothing. Without such a repository r is left as it is (distribution
// then opens an upload session, as the spec says).
func (e *extensions) anonymousMount(r *http.Request) {
	q := r.URL.Query()
	if q.Get("from") != "" {
		return
	}
	d, err := digest.Parse(q.Get("mount"))
	if err != nil || d.Validate() != nil {
		return
	}
	if src := e.repoWithBlob(d); src != "" {
		q.Set("from", src)
		r.URL.RawQuery = q.Encode()
	}
}

// repoWithBlob finds a repository that links blob d, "" if none.
func (e *extensions) repoWithBlob(d digest.Digest) string {
	base := filepath.Join(e.root, "docker", "registry", "v2", "repositories")
	found := ""
	filepath.WalkDir(base, func(path string, de fs.DirEntry, err error) error {
		if err != nil || found != "" {
			return fs.SkipDir
		}
		if !de.IsDir() {
			return nil
		}
		switch de.Name() {
		case "_manifests", "_uploads":
			return fs.SkipDir
		case "_layers":
			if _, err := os.Stat(filepath.Join(path, string(d.Algorithm()), d.Encoded(), "link")); err == nil {
				rel, err := filepath.Rel(base, filepath.Dir(path))
				if err == nil {
					found = filepath.ToSlash(rel)
				}
			}
			return fs.SkipDir
		}
		return nil
	})
	return found
}

// postOnly completes a monolithic upload in one POST (?digest=<d> with
// the blob as body) through next: a session is opened, the body sent into
// it with PATCH while hashed, then the session is closed with PUT when
// the hash matches, cancelled (400) when it does not. The client gets
// the PUT's answer: 201 and the blob's Location.
func (e *extensions) postOnly(w http.ResponseWriter, r *http.Request, next http.Handler) {
	want, err := digest.Parse(r.URL.Query().Get("digest"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "DIGEST_INVALID", "invalid digest")
		return
	}
	step := func(method string, u *url.URL, body io.Reader, length int64) *httptest.ResponseRecorder {
		sub := r.Clone(r.Context())
		sub.Method, sub.URL, sub.RequestURI = method, u, u.RequestURI()
		sub.Body, sub.ContentLength = io.NopCloser(body), length
		sub.Header.Del("Content-Length")
		sub.Header.Del("Content-Range")
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, sub)
		return rec
	}
	q := r.URL.Query()
	q.Del("digest")
	rec := step(http.MethodPost, &url.URL{Path: r.URL.Path, RawQuery: q.Encode()}, http.NoBody, 0)
	if rec.Code != http.StatusAccepted {
		copyResponse(w, rec)
		return
	}
	loc, err := location(rec)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	}
	verifier := want.Verifier()
	rec = step(http.MethodPatch, loc, io.TeeReader(r.Body, verifier), r.ContentLength)
	if rec.Code != http.StatusAccepted {
		copyResponse(w, rec)
		return
	}
	if loc, err = location(rec); err != nil {
		writeError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	}
	if !verifier.Verified() {
		step(http.MethodDelete, loc, http.NoBody, 0)
		writeError(w, http.StatusBadRequest, "DIGEST_INVALID", "provided digest did not match uploaded content")
		return
	}
	pq := loc.Query()
	pq.Set("digest", want.String())
	loc.RawQuery = pq.Encode()
	rec = step(http.MethodPut, loc, http.NoBody, 0)
	if !canonical(want) {
		e.recordBlobAlias(rec, want)
	}
	copyResponse(w, rec)
}

// location is the path and query of a recorded answer's Location.
func location(rec *httptest.ResponseRecorder) (*url.URL, error) {
	u, err := url.Parse(rec.Header().Get("Location"))
	if err != nil || u.Path == "" {
		return nil, fmt.Errorf("upload session without a usable Location %q", rec.Header().Get("Location"))
	}
	return &url.URL{Path: u.Path, RawQuery: u.RawQuery}, nil
}

// copyResponse writes a recorded answer to w.
func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(bytes.Clone(rec.Body.Bytes()))
}
