package auth

import (
	"fmt"
	"net/http"
)

// tlsOnly keeps a login to a registry not named insecure off plain HTTP:
// go-containerregistry falls back to HTTP for private addresses (10/8,
// 192.168/16, ...) when HTTPS fails, and would then send the password in
// clear. Requests to the registry over HTTP, and any plain-HTTP request
// carrying credentials (a token realm on http://), are refused.
type tlsOnly struct {
	host  string
	inner http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t tlsOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme != "https" && (r.URL.Host == t.host || r.Header.Get("Authorization") != "") {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, fmt.Errorf("plain HTTP to %s refused: %s is not an insecure registry", r.URL.Host, t.host)
	}
	return t.inner.RoundTrip(r)
}
