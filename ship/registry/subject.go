package registry

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
)

// maxManifest is the largest manifest accepted, distribution's limit.
const maxManifest = 4 << 20

// putManifest passes a manifest push to next and, when it succeeds and the
// manifest has a subject, answers with the OCI-Subject header that tells
// clients this registry keeps the referrers list itself.
func (e *extensions) putManifest(w http.ResponseWriter, r *http.Request, next http.Handler) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxManifest+1))
	r.Body.Close()
	if err != nil {
		writeError(w, http.StatusBadRequest, "MANIFEST_INVALID", "reading manifest: "+err.Error())
		return
	}
	if len(body) > maxManifest {
		writeError(w, http.StatusRequestEntityTooLarge, "SIZE_INVALID", "manifest larger than 4 MiB")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	subject := subjectOf(body)
	if subject == "" {
		next.ServeHTTP(w, r)
		return
	}
	next.ServeHTTP(&subjectWriter{ResponseWriter: w, subject: subject}, r)
}

// subjectOf returns the digest of a manifest's subject, "" if none.
func subjectOf(body []byte) string {
	var m struct {
		Subject *struct {
			Digest string `json:"digest"`
		} `json:"subject"`
	}
	if json.Unmarshal(body, &m) != nil || m.Subject == nil {
		return ""
	}
	return m.Subject.Digest
}

// subjectWriter adds OCI-Subject to a 201 Created answer.
type subjectWriter struct {
	http.ResponseWriter
	subject string
}

func (s *subjectWriter) WriteHeader(code int) {
	if code == http.StatusCreated {
		s.Header().Set("OCI-Subject", s.subject)
	}
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the real writer.
func (s *subjectWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
