package cli_test

import (
	"archive/tar"
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFiles writes name -> content files under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// emptyDir fails the test if dir holds anything.
func emptyDir(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Fatalf("%s (on the host) gained %d entries, first %q", dir, len(ents), ents[0].Name())
	}
}

// TestBuildHostileBaseImage builds on an image whose file system links
// point at a host directory the test made: COPY, ADD and --chown must
// resolve them inside the image, never on the host.
func TestBuildHostileBaseImage(t *testing.T) {
	e := newEnv(t).withBusybox()
	hostDir := t.TempDir() // the target the links name
	ctx := t.TempDir()
	var evil bytes.Buffer
	tw := tar.NewWriter(&evil)
	tw.WriteHeader(&tar.Header{Name: "../../../../../../" + strings.TrimPrefix(hostDir, "/") + "/fromtar", Typeflag: tar.TypeReg, Mode: 0o644})
	tw.Close()
	writeFiles(t, ctx, map[string]string{
		"payload":  "payload\n",
		"evil.tar": evil.String(),
		"Dockerfile.base": "FROM busybox\n" +
			"RUN mkdir -p " + hostDir + " && ln -s " + hostDir + " /abs && ln -s ../../../../../../" + hostDir + " /climb\n",
		"Dockerfile": "FROM hostile-base\n" +
			"COPY payload /abs/viaabs\n" +
			"COPY payload /climb/\n" +
			"COPY --chown=root payload /abs/owned\n",
		"Dockerfile.add": "FROM hostile-base\nADD evil.tar /abs/\n",
	})
	e.build("-f", filepath.Join(ctx, "Dockerfile.base"), "-t", "hostile-base", ctx)
	e.build("-t", "hostile-copy", ctx)
	emptyDir(t, hostDir)
	// The files are in the image, at the link targets as seen inside it.
	for _, p := range []string{hostDir + "/viaabs", hostDir + "/payload", hostDir + "/owned"} {
		if got := e.must("run", "--rm", "hostile-copy", "cat", p); got != "payload\n" {
			t.Errorf("%s in the image = %q", p, got)
		}
	}
	_, stderr, code := e.run(nil, "build", "--progress", "plain", "-f", filepath.Join(ctx, "Dockerfile.add"), "-t", "hostile-add", ctx)
	if code == 0 {
		t.Errorf("ADD of a tar with ../ names succeeded: %s", stderr)
	} else if !strings.Contains(stderr, "evil.tar") {
		t.Errorf("ADD failure does not name the archive: %s", stderr)
	}
	emptyDir(t, hostDir)
}

// TestBuildDockerignoreAndStdinContext checks .dockerignore end to end
// and a hostile tar context on stdin.
func TestBuildDockerignoreAndStdinContext(t *testing.T) {
	e := newEnv(t).withBusybox()
	ctx := t.TempDir()
	writeFiles(t, ctx, map[string]string{
		".dockerignore": "*.log\n!keep.log\nsecret/\nDockerfile\n",
		"Dockerfile":    "FROM busybox\nCOPY . /ctx/\n",
		"a.log":         "x", "keep.log": "k", "main.sh": "m", "secret/key": "s", "sub/x.log": "x",
	})
	e.build("-t", "ign", ctx)
	out := e.must("run", "--rm", "ign", "find", "/ctx")
	for _, want := range []string{"/ctx/keep.log", "/ctx/main.sh", "/ctx/sub/x.log"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("%s missing from the image: %s", want, out)
		}
	}
	for _, bad := range []string{"/ctx/a.log", "/ctx/secret", "/ctx/Dockerfile\n"} {
		if strings.Contains(out, bad) {
			t.Errorf("ignored %s copied: %s", bad, out)
		}
	}
	writeFiles(t, ctx, map[string]string{"Dockerfile.2": "FROM busybox\nCOPY a.log /\n"})
	e.fails(1, "file not found in build context or excluded by .dockerignore", "build", "-f", filepath.Join(ctx, "Dockerfile.2"), ctx)

	// A tar context on stdin whose names climb out: refused, nothing
	// written beside the temp directory berth unpacks into.
	outside := t.TempDir()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	df := "FROM busybox\n"
	tw.WriteHeader(&tar.Header{Name: "Dockerfile", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(df))})
	tw.Write([]byte(df))
	tw.WriteHeader(&tar.Header{Name: "../../../../../../" + strings.TrimPrefix(outside, "/") + "/escaped", Typeflag: tar.TypeReg, Mode: 0o644})
	tw.Close()
	_, stderr, code := e.run(b.Bytes(), "build", "-t", "stdin-evil", "-")
	if code == 0 {
		t.Errorf("a context tar with ../ names was accepted")
	}
	if !strings.Contains(stderr, "escaped") {
		t.Errorf("the refusal does not name the entry: %q", stderr)
	}
	emptyDir(t, outside)
}

// TestBuildAddURL downloads from a loopback server: mode 0600, the
// Last-Modified time, not unpacked; a dead URL is a clear failure.
func TestBuildAddURL(t *testing.T) {
	e := newEnv(t).withBusybox()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/dl/tool.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Last-Modified", "Wed, 03 Mar 2021 04:05:06 GMT")
		w.Write([]byte("downloaded\n"))
	}))
	t.Cleanup(srv.Close)
	ctx := t.TempDir()
	writeFiles(t, ctx, map[string]string{
		"Dockerfile":      "FROM busybox\nADD " + srv.URL + "/dl/tool.txt /opt/\n",
		"Dockerfile.dead": "FROM busybox\nADD " + srv.URL + "/missing /opt/\n",
	})
	e.build("-t", "addurl", ctx)
	out := e.must("run", "--rm", "addurl", "stat", "-c", "%a %u:%g %Y", "/opt/tool.txt")
	if strings.TrimSpace(out) != "600 0:0 1614744306" {
		t.Errorf("downloaded file: %q, want mode 600, 0:0, mtime 1614744306", out)
	}
	if got := e.must("run", "--rm", "addurl", "cat", "/opt/tool.txt"); got != "downloaded\n" {
		t.Errorf("content %q", got)
	}
	e.fails(1, "404", "build", "-f", filepath.Join(ctx, "Dockerfile.dead"), ctx)
}
