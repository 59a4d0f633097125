package auth

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"berth/internal/regtest"
	"berth/ship/registry"
)

// bearerFront serves berth's registry behind Bearer token auth: a token
// service at /token checking user:pass, and every /v2/ request needing
// the token it issues (the scheme of Docker Hub and most registries).
func bearerFront(t *testing.T, user, pass string, tokens *atomic.Int32) string {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	registry.RouteLogs(quiet) // distribution logs through logrus's global logger
	s, err := registry.New(t.Context(), registry.Options{Root: t.TempDir(), Addr: "127.0.0.1:0", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return regtest.BearerFront(t, s.Addr(), user, pass, tokens)
}

// TestKeychainBearerPushPull pushes and pulls through a Bearer-protected
// registry with credentials from the keychain, after a verified login.
func TestKeychainBearerPushPull(t *testing.T) {
	var tokens atomic.Int32
	host := bearerFront(t, "carol", "pw", &tokens)
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(t.Context(), host, Credentials{Username: "carol", Password: "bad"}, nil, true); err == nil {
		t.Fatal("bad password verified")
	}
	creds := Credentials{Username: "carol", Password: "pw"}
	if err := Verify(t.Context(), host, creds, nil, true); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(t.Context(), host, creds); err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host+"/team/app:1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	// Without credentials the registry refuses.
	if err := remote.Write(ref, img); err == nil {
		t.Fatal("anonymous push accepted")
	}
	kc := remote.WithAuthFromKeychain(NewKeychain(dir))
	issued := tokens.Load()
	if err := remote.Write(ref, img, kc); err != nil {
		t.Fatalf("push: %v", err)
	}
	got, err := remote.Image(ref, kc)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	want, _ := img.Digest()
	if d, _ := got.Digest(); d != want {
		t.Errorf("pulled %s, pushed %s", d, want)
	}
	if tokens.Load() == issued {
		t.Error("no token was fetched for the push and pull")
	}
}
