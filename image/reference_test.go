package image

import (
	"strings"
	"testing"
)

func TestParseRef(t *testing.T) {
	cases := []struct{ in, full, familiar, repo, tag string }{
		{"busybox", "docker.io/library/busybox:latest", "busybox:latest", "busybox", "latest"},
		{"busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36", "busybox", "1.36"},
		{"library/busybox", "docker.io/library/busybox:latest", "busybox:latest", "busybox", "latest"},
		{"docker.io/library/busybox:latest", "docker.io/library/busybox:latest", "busybox:latest", "busybox", "latest"},
		{"user/app:v1", "docker.io/user/app:v1", "user/app:v1", "user/app", "v1"},
		{"localhost:5000/app", "localhost:5000/app:latest", "localhost:5000/app:latest", "localhost:5000/app", "latest"},
		{"ghcr.io/o/r:t", "ghcr.io/o/r:t", "ghcr.io/o/r:t", "ghcr.io/o/r", "t"},
		{"busybox@sha256:" + strings.Repeat("a", 64), "docker.io/library/busybox@sha256:" + strings.Repeat("a", 64),
			"busybox@sha256:" + strings.Repeat("a", 64), "busybox", ""},
	}
	for _, c := range cases {
		r, err := ParseRef(c.in)
		if err != nil {
			t.Errorf("ParseRef(%q): %v", c.in, err)
			continue
		}
		if r.String() != c.full || r.Familiar() != c.familiar || r.Repository() != c.repo || r.Tag() != c.tag {
			t.Errorf("ParseRef(%q) = %q %q %q %q, want %q %q %q %q", c.in,
				r.String(), r.Familiar(), r.Repository(), r.Tag(), c.full, c.familiar, c.repo, c.tag)
		}
	}
	for _, bad := range []string{"", "UPPER", "a:b:c", "busybox@sha256:xyz", "-x", "a//b", "busybox:" + strings.Repeat("t", 200), "x\x00y"} {
		if _, err := ParseRef(bad); err == nil {
			t.Errorf("ParseRef(%q): no error", bad)
		}
	}
}

func TestIsDigestLike(t *testing.T) {
	for s, want := range map[string]bool{"3f4": true, "sha256:3f4a": true, "3f": false, "busybox": false, "ABC": false, strings.Repeat("a", 65): false} {
		if got := IsDigestLike(s); got != want {
			t.Errorf("IsDigestLike(%q) = %v", s, got)
		}
	}
}

func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"busybox", "a/b:c", "localhost:5000/x@sha256:" + strings.Repeat("0", 64), "::", "a@b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s)
		if err != nil {
			return
		}
		// A parsed reference parses again to itself.
		r2, err := ParseRef(r.String())
		if err != nil || r2.String() != r.String() {
			t.Fatalf("%q -> %q -> %q, %v", s, r.String(), r2.String(), err)
		}
	})
}
