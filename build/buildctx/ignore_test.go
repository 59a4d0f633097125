package buildctx

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestDockerignore(t *testing.T) {
	c := openTree(t, map[string]string{
		".dockerignore": "# comment\n*.log\n!keep.log\nbuild\n**/*.tmp\nsecret/\n!secret/public\nDockerfile\n.dockerignore\n",
		"Dockerfile":    "FROM scratch\n",
		"a.log":         "", "keep.log": "", "main.go": "",
		"build/out": "",
		"src/x.tmp": "", "src/deep/y.tmp": "", "src/ok.go": "",
		"secret/key": "", "secret/public": "pub",
	})
	for p, want := range map[string]bool{
		"a.log": true, "keep.log": false, "main.go": false, "build": true, "build/out": true,
		"src/x.tmp": true, "src/deep/y.tmp": true, "src/ok.go": false,
		"secret/key": true, "secret/public": false, "Dockerfile": true, ".dockerignore": true,
	} {
		isDir := p == "build"
		if got := c.Excluded(p, isDir); got != want {
			t.Errorf("Excluded(%q) = %v, want %v", p, got, want)
		}
	}
	// The Dockerfile is read even when ignored, but COPY cannot see it.
	if df, err := c.Dockerfile("Dockerfile"); err != nil || string(df) != "FROM scratch\n" {
		t.Fatalf("Dockerfile: %q %v", df, err)
	}
	for _, p := range []string{"Dockerfile", ".dockerignore", "a.log", "build/out"} {
		if _, err := c.Sources([]string{p}); !errors.Is(err, ErrNotFound) {
			t.Errorf("COPY %s of an ignored file: %v", p, err)
		}
	}
	got, err := c.Sources([]string{"*.log"})
	if err != nil || !reflect.DeepEqual(paths(got), []string{"keep.log"}) {
		t.Fatalf("*.log = %q %v", paths(got), err)
	}
	// A copied directory leaves ignored entries out, and an exception
	// inside an ignored directory comes back.
	dst := t.TempDir()
	srcs, err := c.Sources([]string{".", "secret"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Copy(context.Background(), srcs[:1], dst, "/all/", copierOpts()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"all/main.go", "all/keep.log", "all/src/ok.go", "all/secret/public"} {
		if _, err := os.Stat(filepath.Join(dst, p)); err != nil {
			t.Errorf("%s missing from the copy: %v", p, err)
		}
	}
	for _, p := range []string{"all/a.log", "all/build", "all/src/x.tmp", "all/src/deep/y.tmp", "all/secret/key", "all/Dockerfile", "all/.dockerignore"} {
		if _, err := os.Lstat(filepath.Join(dst, p)); err == nil {
			t.Errorf("%s copied although ignored", p)
		}
	}
}

func TestDockerfileSpecificIgnore(t *testing.T) {
	c := openTree(t, map[string]string{
		".dockerignore":                     "a\n",
		"build/app.Dockerfile":              "FROM scratch\n",
		"build/app.Dockerfile.dockerignore": "b\n",
		"a":                                 "", "b": "",
	})
	if c.Excluded("b", false) || !c.Excluded("a", false) {
		t.Fatal(".dockerignore not in force before the Dockerfile is read")
	}
	if _, err := c.Dockerfile("build/app.Dockerfile"); err != nil {
		t.Fatal(err)
	}
	if !c.Excluded("b", false) || c.Excluded("a", false) {
		t.Fatal("<Dockerfile>.dockerignore did not replace .dockerignore")
	}
}

func TestParseIgnoreErrors(t *testing.T) {
	for _, bad := range []string{"[", "!", "a/[b"} {
		if _, err := ParseIgnore(".dockerignore", []byte(bad+"\n")); err == nil {
			t.Errorf("ParseIgnore(%q) accepted", bad)
		}
	}
	got, err := ParseIgnore(".dockerignore", []byte("\xef\xbb\xbf/abs\n  spaced  \n# c\n\n!/x/../y\n"))
	if err != nil || !reflect.DeepEqual(got, []string{"abs", "spaced", "!y"}) {
		t.Fatalf("ParseIgnore = %q, %v", got, err)
	}
	dir := t.TempDir()
	tree(t, dir, map[string]string{".dockerignore": "[\n"})
	if _, err := Open(context.Background(), dir); err == nil {
		t.Fatal("Open accepted a bad .dockerignore")
	}
}

func TestDockerfileLookup(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "Outside.Dockerfile")
	if err := os.WriteFile(outside, []byte("FROM busybox\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := openTree(t, map[string]string{"Dockerfile": "FROM a\n", "sub/df": "FROM b\n", "esc": "->" + outside})
	for name, want := range map[string]string{"": "FROM a\n", "sub/df": "FROM b\n", outside: "FROM busybox\n", filepath.Join(c.Dir(), "sub/df"): "FROM b\n"} {
		got, err := c.Dockerfile(name)
		if err != nil || string(got) != want {
			t.Errorf("Dockerfile(%q) = %q, %v", name, got, err)
		}
	}
	if _, err := c.Dockerfile("esc"); err == nil {
		t.Error("a Dockerfile link out of the context was followed")
	}
	if _, err := c.Dockerfile("nope"); err == nil {
		t.Error("missing Dockerfile read")
	}
	if _, err := Open(context.Background(), filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("Open of a missing directory succeeded")
	}
}
