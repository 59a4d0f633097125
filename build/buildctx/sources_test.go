package buildctx

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"berth/build/copier"
)

func TestSourcesGlobs(t *testing.T) {
	c := openTree(t, map[string]string{
		"a.go": "", "b.go": "", "c.txt": "", ".hidden.go": "",
		"pkg/x.go": "", "pkg/sub/y.go": "", "pkg2/z.go": "",
		"[lit]": "", "q1": "", "q22": "",
	})
	cases := []struct {
		pats []string
		want []string
	}{
		{[]string{"*.go"}, []string{".hidden.go", "a.go", "b.go"}},
		{[]string{"pkg*/*.go"}, []string{"pkg/x.go", "pkg2/z.go"}},
		{[]string{"**/*.go"}, []string{"pkg/x.go", "pkg2/z.go"}}, // ** is a single element in COPY
		{[]string{"q?"}, []string{"q1"}},
		{[]string{`\[lit\]`}, []string{"[lit]"}},
		{[]string{"/c.txt"}, []string{"c.txt"}},
		{[]string{"pkg/../c.txt"}, []string{"c.txt"}},
		{[]string{"."}, []string{"."}},
		{[]string{"pkg", "c.txt"}, []string{"pkg", "c.txt"}},
	}
	for _, tc := range cases {
		got, err := c.Sources(tc.pats)
		if err != nil {
			t.Fatalf("Sources(%q): %v", tc.pats, err)
		}
		if !reflect.DeepEqual(paths(got), tc.want) {
			t.Errorf("Sources(%q) = %q, want %q", tc.pats, paths(got), tc.want)
		}
	}
	s, err := c.Sources([]string{"pkg"})
	if err != nil || !s[0].Dir {
		t.Fatalf("pkg not a directory source: %+v %v", s, err)
	}
}

func TestSourcesErrors(t *testing.T) {
	c := openTree(t, map[string]string{"a": "", "d/f": ""})
	_, err := c.Sources([]string{"missing"})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "file not found in build context or excluded by .dockerignore: stat missing: file does not exist") {
		t.Fatalf("missing: %v", err)
	}
	if _, err := c.Sources([]string{"*.nothing"}); !errors.Is(err, copier.ErrNoSources) {
		t.Fatalf("wildcard without match: %v", err)
	}
	if _, err := c.Sources(nil); !errors.Is(err, copier.ErrNoSources) {
		t.Fatalf("no patterns: %v", err)
	}
	for _, p := range []string{"../x", "..", "d/../../x", "a/../../../etc/passwd"} {
		if _, err := c.Sources([]string{p}); !errors.Is(err, ErrOutsideContext) {
			t.Errorf("Sources(%q) = %v, want outside-context refusal", p, err)
		}
	}
	if _, err := c.Sources([]string{"[bad"}); err == nil {
		t.Error("malformed pattern accepted")
	}
	if _, err := c.Sources([]string{"a\x00b"}); err == nil {
		t.Error("NUL byte accepted")
	}
	s, err := c.Sources([]string{"http://127.0.0.1/x.tar"})
	if err != nil || !s[0].URL {
		t.Fatalf("URL source: %+v %v", s, err)
	}
}

func TestSourcesSymlinks(t *testing.T) {
	c := openTree(t, map[string]string{
		"real/f":   "x",
		"in":       "->real",
		"in2":      "->./real/../real/f",
		"abs":      "->/etc",
		"up":       "->../../../../etc/passwd",
		"loop":     "->loop",
		"dangling": "->nope",
	})
	s, err := c.Sources([]string{"in", "in2"})
	if err != nil {
		t.Fatal(err)
	}
	if s[0].Resolved != "real" || !s[0].Dir || s[0].Path != "in" || s[1].Resolved != "real/f" || s[1].Dir {
		t.Fatalf("links inside the context: %+v", s)
	}
	for _, p := range []string{"abs", "up", "abs/passwd", "i*/../abs", "a*"} {
		if _, err := c.Sources([]string{p}); !errors.Is(err, ErrOutsideContext) {
			t.Errorf("Sources(%q) = %v, want outside-context refusal", p, err)
		}
	}
	if _, err := c.Sources([]string{"loop"}); err == nil || !errors.Is(err, copier.ErrTooManyLinks) {
		t.Errorf("loop: %v", err)
	}
	if _, err := c.Sources([]string{"dangling"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("dangling: %v", err)
	}
}

func TestOpenTreeResolvesInRoot(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{
		"usr/lib/libx.so.1": "lib", "usr/bin/tool": "->/usr/lib/libx.so.1",
		"bin": "->usr/bin", "etc/escape": "->../../../../usr/lib", ".dockerignore": "usr\n",
	})
	c, err := OpenTree(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cases := map[string]string{
		"/bin/tool":      "usr/lib/libx.so.1",
		"../../bin/tool": "usr/lib/libx.so.1",
		"/etc/escape":    "usr/lib",
		"/bin/t*":        "usr/lib/libx.so.1",
	}
	for pat, want := range cases {
		s, err := c.Sources([]string{pat})
		if err != nil || len(s) != 1 || s[0].Resolved != want {
			t.Errorf("Sources(%q) = %+v %v, want resolved %s", pat, s, err, want)
		}
	}
	if _, err := c.Sources([]string{"/nope"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
}
