package registry

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
)

// Content addressed by another algorithm than sha256 (sha512): distribution
// stores every blob and manifest under its sha256 digest, keeps the other
// digest of a blob as a per-repository link, and answers with the sha256
// digest. berth records the mapping (aliases) and answers with the digest
// the client used.

// uploadDone completes an upload session by PUT with ?digest=<d>, d not
// sha256.
func (e *extensions) uploadDone(w http.ResponseWriter, r *http.Request, next http.Handler, d digest.Digest) {
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	e.recordBlobAlias(rec, d)
	copyResponse(w, rec)
}

// recordBlobAlias notes, after a successful upload of d, the sha256
// digest distribution stored it under, and answers with d.
func (e *extensions) recordBlobAlias(rec *httptest.ResponseRecorder, d digest.Digest) {
	if rec.Code != http.StatusCreated {
		return
	}
	stored, ok := answeredDigest(rec)
	if !ok || !canonical(stored) || stored == d {
		return
	}
	if err := e.aliases.put(d, stored, false); err != nil {
		writeErrorTo(rec, err)
		return
	}
	swapDigest(rec.Header(), stored, d)
}

// writeErrorTo replaces a recorded answer by a server error.
func writeErrorTo(rec *httptest.ResponseRecorder, err error) {
	*rec = *httptest.NewRecorder()
	writeError(rec, http.StatusInternalServerError, "UNKNOWN", err.Error())
}

// mountAlias mounts blob d (not sha256) from the from= repository: the
// sha256 blob is mounted and d linked beside it in the target repository.
// Without a known mapping, or when the source does not hold d,
// distribution answers as it does (an upload session).
func (e *extensions) mountAlias(w http.ResponseWriter, r *http.Request, next http.Handler, repo string, d digest.Digest) {
	q := r.URL.Query()
	from := q.Get("from")
	stored, ok := e.aliases.target(d)
	if from == "" || !ok || !e.linked(from, d) {
		next.ServeHTTP(w, r)
		return
	}
	q.Set("mount", stored.String())
	r.URL.RawQuery = q.Encode()
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	if rec.Code == http.StatusCreated {
		if err := e.link(repo, d, stored); err != nil {
			writeErrorTo(rec, err)
		} else {
			swapDigest(rec.Header(), stored, d)
		}
	}
	copyResponse(w, rec)
}

// layerLink is the file by which repo links blob d (distribution's
// layout).
func (e *extensions) layerLink(repo string, d digest.Digest) (string, bool) {
	if _, err := reference.WithName(repo); err != nil || d.Validate() != nil {
		return "", false
	}
	return filepath.Join(e.root, "docker", "registry", "v2", "repositories", filepath.FromSlash(repo),
		"_layers", string(d.Algorithm()), d.Encoded(), "link"), true
}

// linked tells whether repo links blob d.
func (e *extensions) linked(repo string, d digest.Digest) bool {
	p, ok := e.layerLink(repo, d)
	if !ok {
		return false
	}
	_, err := os.Stat(p)
	return err == nil
}

// link makes repo link blob d to the stored sha256 blob, as distribution
// does for an alias uploaded there.
func (e *extensions) link(repo string, d, stored digest.Digest) error {
	p, ok := e.layerLink(repo, d)
	if !ok {
		return errInvalidName
	}
	return writeAtomic(p, stored.String())
}

// manifestAlias serves /v2/<repo>/manifests/<d>, d not sha256: a PUT
// (the body must hash to d) is stored under its sha256 digest and the
// mapping recorded both ways; GET, HEAD and DELETE go to the sha256
// manifest. Answers name d.
func (e *extensions) manifestAlias(w http.ResponseWriter, r *http.Request, next http.Handler, repo string, d digest.Digest) {
	if !d.Algorithm().Available() || d.Validate() != nil {
		next.ServeHTTP(w, r)
		return
	}
	path := func(stored digest.Digest) *http.Request {
		r2 := r.Clone(r.Context())
		r2.URL = &url.URL{Path: "/v2/" + repo + "/manifests/" + stored.String(), RawQuery: r.URL.RawQuery}
		r2.RequestURI = r2.URL.RequestURI()
		return r2
	}
	if r.Method == http.MethodPut {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxManifest+1))
		r.Body.Close()
		if err != nil || len(body) > maxManifest {
			writeError(w, http.StatusBadRequest, "MANIFEST_INVALID", "manifest unreadable or larger than 4 MiB")
			return
		}
		if d.Algorithm().FromBytes(body) != d {
			writeError(w, http.StatusBadRequest, "DIGEST_INVALID", "provided digest did not match uploaded content")
			return
		}
		stored := digest.FromBytes(body)
		r2 := path(stored)
		r2.Body, r2.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		rec := httptest.NewRecorder()
		e.putManifest(rec, r2, next)
		if rec.Code == http.StatusCreated {
			// The revision link lets distribution find the manifest by d
			// too: an index naming it by d passes its existence check.
			err := e.aliases.put(d, stored, true)
			if err == nil {
				err = e.revisionLink(repo, d, stored)
			}
			if err != nil {
				writeErrorTo(rec, err)
			} else {
				swapDigest(rec.Header(), stored, d)
			}
		}
		copyResponse(w, rec)
		return
	}
	// Who may not read the repository learns nothing, not even "unknown".
	if !e.authorize(w, r, repo, "pull") {
		return
	}
	stored, ok := e.aliases.target(d)
	if !ok {
		writeError(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown")
		return
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		next.ServeHTTP(&swapWriter{ResponseWriter: w, from: stored, to: d}, path(stored))
		return
	}
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, path(stored))
	if rec.Code == http.StatusAccepted && r.Method == http.MethodDelete {
		if p, ok := e.revisionPath(repo, d); ok {
			os.Remove(p)
		}
	}
	copyResponse(w, rec)
}

// revisionPath is the file by which repo links manifest revision d
// (distribution's layout).
func (e *extensions) revisionPath(repo string, d digest.Digest) (string, bool) {
	if _, err := reference.WithName(repo); err != nil || d.Validate() != nil {
		return "", false
	}
	return filepath.Join(e.root, "docker", "registry", "v2", "repositories", filepath.FromSlash(repo),
		"_manifests", "revisions", string(d.Algorithm()), d.Encoded(), "link"), true
}

// revisionLink links manifest revision d of repo to the stored sha256
// manifest.
func (e *extensions) revisionLink(repo string, d, stored digest.Digest) error {
	p, ok := e.revisionPath(repo, d)
	if !ok {
		return errInvalidName
	}
	return writeAtomic(p, stored.String())
}
