package ocispec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	runtimespec "berth/runtime/spec"
)

// testOptions returns options for an image with Cmd ["sh"] over an empty
// rootfs the test owns.
func testOptions(t *testing.T) Options {
	t.Helper()
	return Options{
		ID:     "0123456789abcdef0123",
		Rootfs: t.TempDir(),
		Image:  ocispec.ImageConfig{Cmd: []string{"sh"}},
	}
}

// mustBuild builds o and checks berth-runtime would accept the result.
func mustBuild(t *testing.T, o Options) *specs.Spec {
	t.Helper()
	s, err := Build(o)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if err := runtimespec.Validate(s); err != nil {
		t.Fatalf("runtime validation of the built spec: %v", err)
	}
	return s
}

// wantErr checks err is set and mentions every part.
func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error mentioning %q, got none", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not mention %q", err, p)
		}
	}
}

// writeFile writes a file (and its directories) under dir.
func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func findMount(s *specs.Spec, dest string) *specs.Mount {
	for i := range s.Mounts {
		if s.Mounts[i].Destination == dest {
			return &s.Mounts[i]
		}
	}
	return nil
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
