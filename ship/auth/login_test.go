package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// basicRegistry answers /v2/ with 200 for user:pass, else a Basic
// challenge.
func basicRegistry(t *testing.T, user, pass string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// tokenRegistry is a registry with a Bearer challenge and, on the same
// loopback server, the token service that checks user:pass (Docker Hub's
// scheme). tokens counts the tokens issued.
func tokenRegistry(t *testing.T, user, pass string, tokens *atomic.Int32) *httptest.Server {
	const token = "good-token"
	var srv *httptest.Server
	mux := http.NewServeMux()
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != pass || r.URL.Query().Get("service") != "test-registry" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}`)
			return
		}
		tokens.Add(1)
		json.NewEncoder(w).Encode(map[string]string{"token": token})
	})
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token",service="test-registry"`, srv.URL))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func host(srv *httptest.Server) string { return strings.TrimPrefix(srv.URL, "http://") }

func TestVerifyBasic(t *testing.T) {
	srv := basicRegistry(t, "alice", "s3cret")
	if err := Verify(t.Context(), host(srv), Credentials{Username: "alice", Password: "s3cret"}, nil, true); err != nil {
		t.Fatalf("good credentials: %v", err)
	}
	err := Verify(t.Context(), host(srv), Credentials{Username: "alice", Password: "wrong"}, nil, true)
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("bad credentials: %v, want ErrUnauthorized", err)
	}
}

func TestVerifyBearer(t *testing.T) {
	var tokens atomic.Int32
	srv := tokenRegistry(t, "bob", "pw", &tokens)
	if err := Verify(t.Context(), host(srv), Credentials{Username: "bob", Password: "pw"}, nil, true); err != nil {
		t.Fatalf("good credentials: %v", err)
	}
	if tokens.Load() != 1 {
		t.Errorf("%d tokens issued, want 1", tokens.Load())
	}
	err := Verify(t.Context(), host(srv), Credentials{Username: "bob", Password: "nope"}, nil, true)
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("bad credentials: %v, want ErrUnauthorized", err)
	}
}

func TestVerifyBadRealm(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="::not a url",service="x"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	err := Verify(t.Context(), host(srv), Credentials{Username: "u", Password: "p"}, nil, true)
	if err == nil || !strings.Contains(err.Error(), host(srv)) {
		t.Fatalf("bad realm: %v", err)
	}
}

func TestKeychainResolve(t *testing.T) {
	var tokens atomic.Int32
	srv := tokenRegistry(t, "bob", "pw", &tokens)
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(t.Context(), host(srv), Credentials{Username: "bob", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(t.Context(), "docker.io", Credentials{Username: "hub", Password: "hubpw"}); err != nil {
		t.Fatal(err)
	}
	kc := NewKeychain(dir)
	cases := map[string]authn.AuthConfig{
		host(srv) + "/some/repo": {Username: "bob", Password: "pw"},
		"busybox":                {Username: "hub", Password: "hubpw"},
		"index.docker.io/x/y":    {Username: "hub", Password: "hubpw"},
	}
	for ref, want := range cases {
		repo, err := name.NewRepository(ref, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		a, err := kc.Resolve(repo)
		if err != nil {
			t.Fatal(err)
		}
		got, err := a.Authorization()
		if err != nil || got.Username != want.Username || got.Password != want.Password {
			t.Errorf("%s: %+v %v, want %+v", ref, got, err, want)
		}
	}
	other, _ := name.NewRepository("quay.io/x")
	a, err := kc.Resolve(other)
	if err != nil || a != authn.Anonymous {
		t.Errorf("unknown registry: %v %v, want anonymous", a, err)
	}
	// A broken file is an error, not silently anonymous.
	os.WriteFile(filepath.Join(dir, ConfigFileName), []byte("{broken"), 0o600)
	if _, err := kc.Resolve(other); err == nil {
		t.Error("broken config.json resolved")
	}
}

func TestVerifyTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "dave" || p != "pw" {
			w.Header().Set("WWW-Authenticate", `Basic realm="tls"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	h := strings.TrimPrefix(srv.URL, "https://")
	// A transport trusting the server's CA (what certs.d gives the client).
	if err := Verify(t.Context(), h, Credentials{Username: "dave", Password: "pw"}, srv.Client().Transport, false); err != nil {
		t.Fatalf("trusted TLS: %v", err)
	}
	// One that does not: a certificate error, not a credentials one.
	err := Verify(t.Context(), h, Credentials{Username: "dave", Password: "pw"}, &http.Transport{}, false)
	if err == nil || errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted TLS: %v", err)
	}
}

// recordingTransport plays a registry that speaks plain HTTP only: HTTPS
// fails, HTTP answers with a Basic challenge (200 when credentials
// come). It records each request's scheme and whether it carried
// credentials, and reaches no network.
type recordingTransport struct {
	mu   sync.Mutex
	seen []string
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	_, _, withCreds := r.BasicAuth()
	rt.mu.Lock()
	rt.seen = append(rt.seen, fmt.Sprintf("%s creds=%v", r.URL.Scheme, withCreds))
	rt.mu.Unlock()
	if r.URL.Scheme == "https" {
		return nil, errors.New("tls: first record does not look like a TLS handshake")
	}
	status, h := http.StatusUnauthorized, http.Header{"Www-Authenticate": {`Basic realm="x"`}}
	if withCreds {
		status, h = http.StatusOK, http.Header{}
	}
	return &http.Response{StatusCode: status, Header: h, Body: http.NoBody, Request: r}, nil
}

// TestVerifyNoPlainHTTPUnlessInsecure: a plain-HTTP registry on a
// private address that is not named insecure never gets the credentials
// (go-containerregistry falls back to HTTP for private addresses); named
// insecure, it does.
func TestVerifyNoPlainHTTPUnlessInsecure(t *testing.T) {
	for _, h := range []string{"10.1.2.3:5000", "192.168.7.8", "registry.example:5000"} {
		rt := &recordingTransport{}
		err := Verify(t.Context(), h, Credentials{Username: "u", Password: "p"}, rt, false)
		if err == nil || !strings.Contains(err.Error(), h) {
			t.Errorf("%s: login over plain HTTP: %v, want an error naming the host", h, err)
		}
		for _, s := range rt.seen {
			if s == "http creds=true" {
				t.Errorf("%s: credentials sent over plain HTTP: %v", h, rt.seen)
			}
		}
		rt = &recordingTransport{}
		if err := Verify(t.Context(), h, Credentials{Username: "u", Password: "p"}, rt, true); err != nil {
			t.Errorf("%s named insecure: %v (requests %v)", h, err, rt.seen)
		}
	}
}
