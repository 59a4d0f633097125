package regtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// BearerFront serves the registry at backend (host:port, plain HTTP)
// behind Bearer token auth on loopback, the scheme of Docker Hub and most
// registries: /token checks user:pass and issues a token, every /v2/
// request needs one. tokens counts the tokens issued. It returns the
// front's host:port and is closed when the test ends.
func BearerFront(t testing.TB, backend, user, pass string, tokens *atomic.Int32) string {
	t.Helper()
	target, err := url.Parse("http://" + backend)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	var front *httptest.Server
	mux := http.NewServeMux()
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != pass {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		tokens.Add(1)
		json.NewEncoder(w).Encode(map[string]string{"token": "tok-" + r.URL.Query().Get("scope")})
	})
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer tok-") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+front.URL+`/token",service="berth-test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		r.Header.Del("Authorization")
		proxy.ServeHTTP(w, r)
	})
	front = httptest.NewServer(mux)
	t.Cleanup(front.Close)
	return strings.TrimPrefix(front.URL, "http://")
}
