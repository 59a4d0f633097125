package copier

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hostileRoot makes a destination rootfs whose links point at outside,
// a directory the test made next to it.
func hostileRoot(t *testing.T) (dst, outside string) {
	t.Helper()
	base := t.TempDir()
	dst, outside = filepath.Join(base, "rootfs"), filepath.Join(base, "outside")
	tree(t, outside, map[string]string{"victim": "untouched", "sub/": ""})
	tree(t, dst, map[string]string{
		"abs":        "->" + outside,                // absolute, to the host path
		"climb":      "->../../../../../" + outside, // climbing
		"etc/passwd": "->" + filepath.Join(outside, "victim"),
		"victimlink": "->" + filepath.Join(outside, "victim"),
		"dotdot":     "->..",
		"loop":       "->loop",
		"app/":       "",
	})
	return dst, outside
}

// outsideUnchanged checks that the outside directory holds only what
// hostileRoot put there.
func outsideUnchanged(t *testing.T, outside string) {
	t.Helper()
	if got := readFile(t, filepath.Join(outside, "victim")); got != "untouched" {
		t.Fatalf("outside victim changed to %q", got)
	}
	ents, err := os.ReadDir(outside)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 2 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("outside directory gained entries: %v", names)
	}
	sub, _ := os.ReadDir(filepath.Join(outside, "sub"))
	if len(sub) != 0 {
		t.Fatalf("outside/sub gained %d entries", len(sub))
	}
}

func TestCopyHostileDestination(t *testing.T) {
	requireRoot(t)
	src := t.TempDir()
	tree(t, src, map[string]string{"f": "payload", "d/x": "payload", "d/sub/y": "payload"})
	dests := []struct {
		dest, lands string
		mirror      bool // the link target exists inside the root
	}{
		{"/abs/sub/", "<outside>/sub/f", true}, // resolved as /<outside>/sub inside the root
		{"/climb/sub/f", "<outside>/sub/f", true},
		{"/abs/sub/", "", false}, // dangling inside the root: an error, nothing outside
		{"/climb/sub/f", "", false},
		{"/victimlink", "victimlink", false}, // final link replaced, not written through
		{"/dotdot/dotdot/app/", "app/f", false},
		{"/abs/../../../../../app/f2", "app/f2", false}, // ".." clamped at the root
	}
	for _, d := range dests {
		dst, outside := hostileRoot(t)
		if d.mirror {
			if err := os.MkdirAll(filepath.Join(dst, outside, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		err := doCopy(t, src, []string{"f"}, dst, d.dest, Options{})
		outsideUnchanged(t, outside)
		if d.lands == "" {
			if err == nil {
				t.Fatalf("copy to %s through a dangling link succeeded", d.dest)
			}
			continue
		}
		if err != nil {
			t.Fatalf("copy to %s: %v", d.dest, err)
		}
		lands := strings.ReplaceAll(d.lands, "<outside>", strings.TrimPrefix(outside, "/"))
		if got := readFile(t, filepath.Join(dst, lands)); got != "payload" {
			t.Fatalf("copy to %s: %s = %q", d.dest, lands, got)
		}
	}
	// Directory trees merge through in-root resolution too.
	dst, outside := hostileRoot(t)
	if err := os.MkdirAll(filepath.Join(dst, outside), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := doCopy(t, src, []string{"d"}, dst, "/abs", Options{}); err != nil {
		t.Fatal(err)
	}
	outsideUnchanged(t, outside)
	if got := readFile(t, filepath.Join(dst, strings.TrimPrefix(outside, "/"), "sub/y")); got != "payload" {
		t.Fatalf("merged tree not inside the root: %q", got)
	}
	// A symlink loop is an error, not a hang.
	if err := doCopy(t, src, []string{"f"}, dst, "/loop/x", Options{}); err == nil {
		t.Fatal("copy through a link loop succeeded")
	}
	// --chown names come from the rootfs /etc/passwd even when it is a
	// link out: the link resolves inside the root, where it is missing.
	if _, err := ResolveOwner(dst, "victim"); err == nil {
		t.Fatal("ResolveOwner read /etc/passwd through a link out of the root")
	}
	outsideUnchanged(t, outside)
}

func TestCopyHostileSource(t *testing.T) {
	requireRoot(t)
	base := t.TempDir()
	src, dst := filepath.Join(base, "stage"), filepath.Join(base, "dst")
	tree(t, base, map[string]string{"secret": "host secret"})
	tree(t, src, map[string]string{
		"abs":   "->" + filepath.Join(base, "secret"),
		"climb": "->../secret",
		"ok":    "inside",
	})
	tree(t, dst, map[string]string{"x/": ""})
	// A stage's absolute link resolves inside the stage (COPY --from):
	// there is no /<base>/secret in it, so the copy fails.
	for _, s := range []string{"abs", "climb"} {
		err := doCopy(t, src, []string{s}, dst, "/x/", Options{})
		if err == nil {
			if got, _ := os.ReadFile(filepath.Join(dst, "x", s)); string(got) == "host secret" {
				t.Fatalf("%s copied the host's secret", s)
			}
		}
	}
	if r, escaped, err := Resolve(src, "climb"); !escaped || err == nil {
		t.Fatalf("Resolve(climb) = %q escaped %v err %v; want escaped and missing", r, escaped, err)
	}
	if r, escaped, err := Resolve(src, "ok"); escaped || err != nil || r != "ok" {
		t.Fatalf("Resolve(ok) = %q %v %v", r, escaped, err)
	}
	if _, _, err := Resolve(src, "../../ok"); err != nil {
		t.Fatalf("Resolve clamps ..: %v", err)
	}
}

func TestAddHostileArchive(t *testing.T) {
	requireRoot(t)
	for name, entries := range map[string][]tar.Header{
		"dotdot": {{Name: "../../escape", Typeflag: tar.TypeReg, Mode: 0o644}},
		"link-then-write": {
			{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/"},
			{Name: "l/escape", Typeflag: tar.TypeReg, Mode: 0o644},
		},
	} {
		base := t.TempDir()
		src, dst := filepath.Join(base, "src"), filepath.Join(base, "dst")
		tree(t, dst, map[string]string{"app/": ""})
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, h := range entries {
			h := h
			if err := tw.WriteHeader(&h); err != nil {
				t.Fatal(err)
			}
		}
		tw.Close()
		if err := os.MkdirAll(src, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, "evil.tar"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		err := doCopy(t, src, []string{"evil.tar"}, dst, "/app/", Options{ExtractArchives: true})
		mustNotExist(t, filepath.Join(base, "escape"))
		mustNotExist(t, filepath.Join(dst, "escape"))
		if name == "dotdot" && err == nil {
			t.Fatalf("%s: archive with ../ accepted", name)
		}
		if name == "link-then-write" {
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			// The link's "/" is the extraction directory, as in a chroot.
			if got := readFile(t, filepath.Join(dst, "app/escape")); got != "" {
				t.Fatalf("app/escape = %q", got)
			}
		}
	}
}

func TestCopyURLRefusedForCopy(t *testing.T) {
	dst := t.TempDir()
	err := doCopy(t, t.TempDir(), []string{"http://127.0.0.1:1/x"}, dst, "/x", Options{})
	if err == nil || !strings.Contains(err.Error(), "can't be a URL for COPY") {
		t.Fatalf("COPY of a URL: %v", err)
	}
	if errors.Is(err, ErrNoSources) {
		t.Fatal("wrong error")
	}
}
