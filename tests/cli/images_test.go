package cli_test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBootstrapAndList(t *testing.T) {
	e := newEnv(t)
	out := e.must("image", "bootstrap", "-q", "busybox")
	if !strings.HasPrefix(out, "busybox:latest sha256:") {
		t.Fatalf("bootstrap printed %q", out)
	}
	id := strings.Fields(out)[1]
	// Bootstrapping again gives the same image.
	if again := e.must("image", "bootstrap", "-q", "busybox"); again != out {
		t.Errorf("second bootstrap %q, first %q", again, out)
	}
	table := e.must("images")
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "REPOSITORY") || !strings.Contains(lines[1], id[7:19]) {
		t.Errorf("images:\n%s", table)
	}
	if q := strings.TrimSpace(e.must("images", "-q")); q != id[7:19] {
		t.Errorf("images -q = %q", q)
	}
	var row map[string]string
	if err := json.Unmarshal([]byte(e.must("images", "--format", "json")), &row); err != nil || row["Repository"] != "busybox" || row["Tag"] != "latest" {
		t.Errorf("images --format json: %v %v", row, err)
	}
	if got := e.must("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}", "--no-trunc"); strings.TrimSpace(got) != "busybox:latest "+id {
		t.Errorf("images --format template: %q", got)
	}
	if got := e.must("images", "--digests"); !strings.Contains(got, "DIGEST") || !strings.Contains(got, "sha256:") {
		t.Errorf("images --digests:\n%s", got)
	}
	e.must("tag", "busybox", "example.com/tools/bb:1")
	if got := e.must("images", "--filter", "reference=example.com/*/*", "-q"); strings.TrimSpace(got) != id[7:19] {
		t.Errorf("filter reference: %q", got)
	}
	if got := e.must("images", "busybox"); strings.Contains(got, "example.com") || !strings.Contains(got, "busybox") {
		t.Errorf("images busybox:\n%s", got)
	}
	e.fails(125, "unknown filter", "images", "--filter", "colour=red")

	var insp []map[string]any
	if err := json.Unmarshal([]byte(e.must("image", "inspect", "busybox")), &insp); err != nil || len(insp) != 1 {
		t.Fatalf("inspect: %v", err)
	}
	if insp[0]["Id"] != id || len(insp[0]["RepoTags"].([]any)) != 2 {
		t.Errorf("inspect: Id %v RepoTags %v", insp[0]["Id"], insp[0]["RepoTags"])
	}
	if got := strings.TrimSpace(e.must("image", "inspect", "--format", "{{.Os}}/{{.Architecture}} {{.Config.Cmd}}", "busybox")); got != "linux/amd64 [sh]" {
		t.Errorf("inspect --format: %q", got)
	}
	if h := e.must("history", "busybox"); !strings.Contains(h, "CREATED BY") || !strings.Contains(h, id[7:19]) {
		t.Errorf("history:\n%s", h)
	}
}

func TestRmiAndPrune(t *testing.T) {
	e := newEnv(t)
	e.must("image", "bootstrap", "-q", "busybox")
	e.must("tag", "busybox", "other:1")
	id := strings.TrimSpace(e.must("images", "-q"))
	// By ID with two names: refused without --force.
	e.fails(1, "must be forced", "rmi", id)
	if out := e.must("rmi", "other:1"); !strings.Contains(out, "Untagged: other:1") {
		t.Errorf("rmi other:1: %q", out)
	}
	if out := e.must("rmi", "busybox"); !strings.Contains(out, "Untagged: busybox:latest") || !strings.Contains(out, "Deleted:") {
		t.Errorf("rmi busybox: %q", out)
	}
	if got := e.must("images", "-q"); got != "" {
		t.Errorf("images after rmi: %q", got)
	}
	e.fails(1, "no such image", "rmi", "busybox")
	// prune -a removes every image no container uses and reclaims its space.
	e.must("image", "bootstrap", "-q", "busybox")
	if out := e.must("image", "prune", "-a", "-f"); !strings.Contains(out, "Total reclaimed space:") || strings.Contains(out, "space: 0B") {
		t.Errorf("prune -a: %q", out)
	}
	if out := e.must("system", "df"); !strings.Contains(out, "Images          0") {
		t.Errorf("system df after prune:\n%s", out)
	}
	if out := e.must("system", "check"); !strings.Contains(out, "0 blobs") {
		t.Errorf("system check: %q", out)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	src, dst := newEnv(t), newEnv(t)
	src.must("image", "bootstrap", "-q", "busybox")
	src.must("tag", "busybox", "mine:2")
	archive := filepath.Join(t.TempDir(), "images.tar")
	src.must("save", "-o", archive, "busybox", "mine:2")
	for _, format := range []string{"docker", "oci"} {
		a := archive + "." + format
		src.must("save", "--format", format, "-o", a, "busybox", "mine:2")
		out := dst.must("load", "-i", a)
		if !strings.Contains(out, "Loaded image: busybox:latest") || !strings.Contains(out, "Loaded image: mine:2") {
			t.Errorf("load %s: %q", format, out)
		}
		if got, want := dst.must("images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}} {{.Digest}}"),
			src.must("images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}} {{.Digest}}"); got != want {
			t.Errorf("after save/load (%s):\n%s\nwant\n%s", format, got, want)
		}
		dst.must("rmi", "-f", "busybox", "mine:2")
	}
	// A broken archive loads nothing and leaves the store consistent.
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := dst.run(data[:len(data)/2], "load"); code == 0 || stderr == "" {
		t.Errorf("load of a truncated archive: exit %d, %q", code, stderr)
	}
	if got := dst.must("images", "-q"); got != "" {
		t.Errorf("images after a failed load: %q", got)
	}
	dst.must("system", "check", "--repair")
	dst.must("system", "check")
}

func TestImportWithChanges(t *testing.T) {
	e := newEnv(t)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct{ name, body string }{{"hello.txt", "hi\n"}, {"etc/app.conf", "x=1\n"}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(f.body))
	}
	tw.Close()
	out, stderr, code := e.run(buf.Bytes(), "import", "-c", `CMD ["/bin/app", "-v"]`, "-c", "ENV A=1 B=2",
		"-c", "WORKDIR /srv", "-c", "EXPOSE 8080/tcp", "-m", "from a test", "-", "imported:1")
	if code != 0 || !strings.HasPrefix(out, "sha256:") {
		t.Fatalf("import: exit %d: %s %s", code, out, stderr)
	}
	got := strings.TrimSpace(e.must("image", "inspect", "--format",
		"{{.Config.Cmd}} {{.Config.Env}} {{.Config.WorkingDir}} {{.Config.ExposedPorts}}", "imported:1"))
	if got != "[/bin/app -v] [A=1 B=2] /srv map[8080/tcp:map[]]" {
		t.Errorf("config after import: %q", got)
	}
	if h := e.must("history", "imported:1"); !strings.Contains(h, "from a test") {
		t.Errorf("history: %s", h)
	}
	e.fails(125, "RUN is not a valid change command", "import", "-c", "RUN true", "-", "x")
	// Without a name: an image listed as <none>, removed by a plain prune.
	if _, stderr, code := e.run(buf.Bytes(), "import", "-"); code != 0 {
		t.Fatalf("import without a name: %s", stderr)
	}
	if got := e.must("images"); !strings.Contains(got, "<none>") {
		t.Errorf("images with an unnamed image:\n%s", got)
	}
	e.must("image", "prune", "-f")
	if got := e.must("images"); strings.Contains(got, "<none>") || !strings.Contains(got, "imported") {
		t.Errorf("images after prune:\n%s", got)
	}
}

// TestRmiInUse: an image a container uses is not removed without -f, and
// with -f the container keeps its layers (prune never takes them).
func TestRmiInUse(t *testing.T) {
	e := newEnv(t).withBusybox()
	e.must("run", "-d", "--name", "user", "busybox", "sleep", "100")
	e.fails(1, "image is in use", "rmi", "busybox")
	e.must("rmi", "-f", "busybox")
	e.must("image", "prune", "-a", "-f")
	if out, _, code := e.run(nil, "exec", "user", "ls", "/bin/busybox"); code != 0 || !strings.Contains(out, "busybox") {
		t.Errorf("the container lost its files: %d %q", code, out)
	}
	e.must("rm", "-f", "user")
	if out := e.must("system", "df"); !strings.Contains(out, "Images          0") {
		t.Errorf("system df:\n%s", out)
	}
}
