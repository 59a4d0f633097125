package ship

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"

	"berth/internal/config"
)

func TestInsecure(t *testing.T) {
	c := New(Options{Insecure: []string{"reg.example:5000", "10.0.0.0/8", "plain.example"}})
	for host, want := range map[string]bool{
		"localhost:5000":             true,
		"127.0.0.1:5000":             true,
		"127.8.9.1":                  true,
		"[::1]:5000":                 true,
		"reg.example:5000":           true,
		"reg.example:5001":           false,
		"plain.example:80":           true,
		"10.1.2.3:5000":              true,
		"192.168.1.1:5000":           false,
		"docker.io":                  false,
		"evil.localhost.example.com": false,
	} {
		if got := c.isInsecure(host); got != want {
			t.Errorf("isInsecure(%q) = %v, want %v", host, got, want)
		}
	}
}

// TestSecureRegistryNeedsHTTPS: a registry not listed insecure is
// reached over verified HTTPS only; a private address is no exception
// (go-containerregistry would use HTTP for it).
func TestSecureRegistryNeedsHTTPS(t *testing.T) {
	c := New(Options{})
	ep, err := c.endpoint(context.Background(), "192.168.7.7:5000", "app", "")
	if err != nil {
		t.Fatal(err)
	}
	if ep.scheme != "https" || ep.insecure {
		t.Fatalf("endpoint %+v, want verified https", ep)
	}
	if _, err := c.endpoint(context.Background(), "192.168.7.7:5000", "app", "http"); err == nil || !strings.Contains(err.Error(), "insecure-registries") {
		t.Fatalf("plain HTTP to a secure registry: %v", err)
	}
}

// TestPullOverTLS: a loopback registry speaking TLS with a certificate
// nobody signed is found to speak TLS (tried first) and used.
func TestPullOverTLS(t *testing.T) {
	srv := httptest.NewTLSServer(registry.New(registry.Logger(nopLogger())))
	defer srv.Close()
	tr := &testRegistry{srv: srv, host: strings.TrimPrefix(srv.URL, "https://")}
	img := randomImage(t, 64<<10, 1)
	// go-containerregistry's own client, to fill it, trusts the test CA.
	want := putTLS(t, tr, srv, "app", "1", img)
	st := newStore(t)
	c := testClient()
	res, err := c.Pull(context.Background(), st, mustRef(t, tr.host+"/app:1"), PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Target.Digest.String() != want || c.schemes[tr.host] != "https" {
		t.Fatalf("pull over TLS: %+v, scheme %q", res, c.schemes[tr.host])
	}
}

// TestMirror: a Docker Hub name is pulled from the configured mirror and
// recorded under its own name.
func TestMirror(t *testing.T) {
	mirror := newTestRegistry(t)
	img := randomImage(t, 64<<10, 1)
	want := mirror.put(t, "library/mirrored", "1", img)
	st := newStore(t)
	c := New(Options{Mirrors: []string{"http://" + mirror.host}})
	ref := mustRef(t, "mirrored:1")
	res, err := c.Pull(context.Background(), st, ref, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.Get(context.Background(), ref)
	if err != nil || got.Target.Digest.String() != want.String() || res.Name.String() != "docker.io/library/mirrored:1" {
		t.Fatalf("mirrored pull: %+v %v", got, err)
	}
}

func TestFromConfig(t *testing.T) {
	cf, err := config.Parse([]byte(`{"insecure-registries":["r:5000","10.0.0.0/8"],"registry-mirrors":["https://m.example"],"certs-dir":"/x"}`))
	if err != nil {
		t.Fatal(err)
	}
	o := FromConfig(cf)
	if len(o.Insecure) != 2 || o.Mirrors[0] != "https://m.example" || o.CertsDir != "/x" {
		t.Fatalf("options %+v", o)
	}
	for _, bad := range []string{`{"insecure-registries":["http://r:5000"]}`, `{"insecure-registries":["10.0.0.0/99"]}`, `{"registry-mirrors":["m.example"]}`} {
		if _, err := config.Parse([]byte(bad)); err == nil {
			t.Errorf("config %s accepted", bad)
		}
	}
}
