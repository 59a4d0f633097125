package buildctx

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tarOf builds a tar from headers; regular files get body as content.
func tarOf(t testing.TB, hdrs []tar.Header, body map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		h := h
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body[h.Name]))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(body[h.Name]))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFromTar(t *testing.T) {
	raw := tarOf(t, []tar.Header{
		{Name: "Dockerfile", Typeflag: tar.TypeReg},
		{Name: ".dockerignore", Typeflag: tar.TypeReg},
		{Name: "app/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "app/main.sh", Typeflag: tar.TypeReg, Mode: 0o755},
		{Name: "app/skip.log", Typeflag: tar.TypeReg},
	}, map[string]string{"Dockerfile": "FROM busybox\nCOPY app /app\n", ".dockerignore": "*/*.log\n", "app/main.sh": "echo hi\n", "app/skip.log": "x"})
	var gz bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(raw)
	gw.Close()
	for name, data := range map[string][]byte{"plain": raw, "gzip": gz.Bytes()} {
		tmp := t.TempDir()
		c, err := FromTar(context.Background(), bytes.NewReader(data), tmp)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		df, err := c.Dockerfile("")
		if err != nil || !strings.HasPrefix(string(df), "FROM busybox") {
			t.Fatalf("%s: Dockerfile %q %v", name, df, err)
		}
		srcs, err := c.Sources([]string{"app/*"})
		if err != nil || len(srcs) != 1 || srcs[0].Path != "app/main.sh" {
			t.Fatalf("%s: app/* = %+v %v", name, srcs, err)
		}
		if !strings.HasPrefix(c.Dir(), tmp) {
			t.Fatalf("%s: context unpacked to %s, not under %s", name, c.Dir(), tmp)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(c.Dir()); !os.IsNotExist(err) {
			t.Fatalf("%s: Close left %s", name, c.Dir())
		}
	}
}

func TestFromTarDockerfileOnStdin(t *testing.T) {
	for _, df := range []string{"FROM busybox\nRUN echo hi\n", "", "# short\n"} {
		c, err := FromTar(context.Background(), strings.NewReader(df), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Dockerfile("whatever")
		if err != nil || string(got) != df {
			t.Fatalf("Dockerfile = %q %v, want %q", got, err, df)
		}
		if _, err := c.Sources([]string{"Dockerfile"}); err == nil {
			t.Fatal("a Dockerfile from stdin is copyable; the context must be empty")
		}
		ents, _ := os.ReadDir(c.Dir())
		if len(ents) != 0 {
			t.Fatalf("empty context holds %d entries", len(ents))
		}
		c.Close()
	}
}

func TestFromTarHostile(t *testing.T) {
	cases := map[string][]tar.Header{
		"dotdot":   {{Name: "../escape", Typeflag: tar.TypeReg}},
		"deep":     {{Name: "a/../../escape", Typeflag: tar.TypeReg}},
		"abs-link": {{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "<base>"}, {Name: "l/escape", Typeflag: tar.TypeReg}},
		"up-link":  {{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "../../.."}, {Name: "l/escape", Typeflag: tar.TypeReg}},
		"hardlink": {{Name: "h", Typeflag: tar.TypeLink, Linkname: "../victim"}},
		"device":   {{Name: "null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}},
	}
	for name, hdrs := range cases {
		base := t.TempDir()
		tmp := filepath.Join(base, "tmp")
		os.Mkdir(tmp, 0o755)
		victim := filepath.Join(base, "victim")
		os.WriteFile(victim, []byte("keep"), 0o644)
		for i := range hdrs {
			hdrs[i].Linkname = strings.ReplaceAll(hdrs[i].Linkname, "<base>", base)
		}
		c, err := FromTar(context.Background(), bytes.NewReader(tarOf(t, hdrs, nil)), tmp)
		if c != nil {
			t.Cleanup(func() { c.Close() })
		}
		for _, p := range []string{filepath.Join(base, "escape"), filepath.Join(tmp, "escape"), "/escape"} {
			if _, err := os.Lstat(p); err == nil && p != "/escape" {
				t.Fatalf("%s: %s was written", name, p)
			}
		}
		if b, _ := os.ReadFile(victim); string(b) != "keep" {
			t.Fatalf("%s: victim changed", name)
		}
		switch name {
		case "dotdot", "deep", "hardlink":
			if err == nil {
				t.Fatalf("%s: hostile context accepted", name)
			}
			if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
				t.Fatalf("%s: failed unpack left %d entries in tmp", name, len(ents))
			}
		case "device":
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Lstat(filepath.Join(c.Dir(), "null")); err == nil {
				t.Fatal("device node made from a context tar")
			}
		default:
			// Links resolve inside the context; what lands stays there.
			if err == nil {
				if _, err := c.Sources([]string{"l/escape"}); err == nil {
					t.Fatalf("%s: a link out of the context is copyable", name)
				}
			}
		}
	}
}
