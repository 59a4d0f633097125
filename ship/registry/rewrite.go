package registry

import (
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/opencontainers/go-digest"
)

// swapDigest replaces from by to in the digest-carrying headers of h:
// distribution answers with the sha256 digest it stores content under,
// the client asked by another.
func swapDigest(h http.Header, from, to digest.Digest) {
	// The answer headers that carry a digest.
	for _, k := range [...]string{"Docker-Content-Digest", "Location", "Etag", "Content-Location"} {
		if v := h.Get(k); v != "" {
			h.Set(k, strings.ReplaceAll(v, from.String(), to.String()))
		}
	}
}

// swapWriter applies swapDigest to the answer's headers when they are
// written, leaving the body streaming through. An empty from means the
// sha256 digest the answer names.
type swapWriter struct {
	http.ResponseWriter
	from, to digest.Digest
	done     bool
}

func (s *swapWriter) WriteHeader(code int) {
	if !s.done {
		s.done = true
		from := s.from
		if from == "" {
			if d, err := digest.Parse(s.Header().Get("Docker-Content-Digest")); err == nil && canonical(d) {
				from = d
			}
		}
		if from != "" && from != s.to {
			swapDigest(s.Header(), from, s.to)
		}
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *swapWriter) Write(b []byte) (int, error) {
	if !s.done {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (s *swapWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// answeredDigest is the Docker-Content-Digest of a recorded answer.
func answeredDigest(rec *httptest.ResponseRecorder) (digest.Digest, bool) {
	d, err := digest.Parse(rec.Header().Get("Docker-Content-Digest"))
	return d, err == nil
}
