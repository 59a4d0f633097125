package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"berth/content"
	"berth/layer"
	"berth/snapshot"
)

// ieRequireRoot skips tests that mount, chown and set trusted xattrs.
func ieRequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts overlays and unpacks layers with their owners")
	}
}

// ieSnapshotters are the snapshotters the rootfs tests run on.
var ieSnapshotters = []string{"overlay", "native"}

// ieOpen opens a store in a temporary directory.
func ieOpen(t testing.TB, snapshotter string) *Store {
	t.Helper()
	s, err := Open(context.Background(), t.TempDir(), Options{Snapshotter: snapshotter})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// ieEnt is one tar entry of a test tree.
type ieEnt struct {
	Name string
	Type byte
	Mode int64
	Body string
	Link string
}

var ieTime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// ieTar writes entries as a tar.
func ieTar(t testing.TB, ents []ieEnt) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := &tar.Header{Name: e.Name, Typeflag: e.Type, Mode: e.Mode, Linkname: e.Link, ModTime: ieTime, Format: tar.FormatPAX}
		if e.Type == tar.TypeReg {
			h.Size = int64(len(e.Body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.Body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ieReadTar reads a tar into entries by cleaned name, hard links resolved
// into copies of what they link to, the root entry left out.
func ieReadTar(t testing.TB, b []byte) map[string]ieEnt {
	t.Helper()
	out := map[string]ieEnt{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "/"))
		if name == "." {
			continue
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		e := ieEnt{Name: name, Type: h.Typeflag, Mode: h.Mode & 0o7777, Body: string(body), Link: h.Linkname}
		if h.Typeflag == tar.TypeLink {
			target, ok := out[path.Clean(h.Linkname)]
			if !ok {
				t.Fatalf("hard link %s to %s, which is not before it", name, h.Linkname)
			}
			e = target
			e.Name = name
		}
		out[name] = e
	}
}

// ieBaseTree is the tree most tests import.
func ieBaseTree() []ieEnt {
	return []ieEnt{
		{Name: "bin/", Type: tar.TypeDir, Mode: 0o755},
		{Name: "bin/tool", Type: tar.TypeReg, Mode: 0o755, Body: "#!/bin/sh\necho tool\n"},
		{Name: "bin/tool2", Type: tar.TypeLink, Link: "bin/tool"},
		{Name: "bin/suid", Type: tar.TypeReg, Mode: 0o4755, Body: "suid"},
		{Name: "bin/sh", Type: tar.TypeSymlink, Mode: 0o777, Link: "tool"},
		{Name: "abs", Type: tar.TypeSymlink, Mode: 0o777, Link: "/etc/hostname"},
		{Name: "data/", Type: tar.TypeDir, Mode: 0o750},
		{Name: "data/keep", Type: tar.TypeReg, Mode: 0o644, Body: "keep"},
		{Name: "data/old", Type: tar.TypeReg, Mode: 0o644, Body: "old"},
		{Name: "empty/", Type: tar.TypeDir, Mode: 0o700},
		{Name: "etc/", Type: tar.TypeDir, Mode: 0o755},
		{Name: "etc/hostname", Type: tar.TypeReg, Mode: 0o644, Body: "box\n"},
		{Name: "etc/secret", Type: tar.TypeReg, Mode: 0o600, Body: "s3cret"},
		{Name: "etc/a b", Type: tar.TypeReg, Mode: 0o644, Body: "spaces"},
	}
}

// ieFiles returns the expected map of a tree.
func ieFiles(t testing.TB, ents []ieEnt) map[string]ieEnt {
	return ieReadTar(t, ieTar(t, ents))
}

// ieMount prepares the rootfs key of img and mounts it; cleanup unmounts
// and removes it.
func ieMount(t testing.TB, s *Store, key string, img Image) string {
	t.Helper()
	ctx := context.Background()
	mounts, err := s.PrepareRootfs(ctx, key, img)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.RemoveRootfs(context.Background(), key); err != nil {
			t.Errorf("remove rootfs %s: %v", key, err)
		}
	})
	dir := t.TempDir()
	if err := snapshot.MountAll(mounts, dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := snapshot.Unmount(dir); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// ieExport exports the rootfs key into a map.
func ieExport(t testing.TB, s *Store, key string) map[string]ieEnt {
	t.Helper()
	var buf bytes.Buffer
	if err := s.Export(context.Background(), key, &buf); err != nil {
		t.Fatal(err)
	}
	return ieReadTar(t, buf.Bytes())
}

func ieCompress(t testing.TB, b []byte, c layer.Compression) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := layer.CompressStream(&buf, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestImportExportRoundTrip: import → PrepareRootfs → export gives the
// same names, types, modes, contents and link targets as the input tar.
func TestImportExportRoundTrip(t *testing.T) {
	ieRequireRoot(t)
	for _, sn := range ieSnapshotters {
		t.Run(sn, func(t *testing.T) {
			ctx := context.Background()
			s := ieOpen(t, sn)
			tree := ieBaseTree()
			img, id, err := s.Import(ctx, bytes.NewReader(ieTar(t, tree)), ImportOptions{Ref: "roundtrip:1"})
			if err != nil {
				t.Fatal(err)
			}
			if img.Name.Familiar() != "roundtrip:1" || id == "" {
				t.Fatalf("import gave %q %q", img.Name.Familiar(), id)
			}
			ieMount(t, s, "rt", img) // exported while mounted, as for a running container
			got := ieExport(t, s, "rt")
			want := ieFiles(t, tree)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("export differs from the imported tar:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestImportCompressions: plain, gzip and zstd give the same layer DiffID,
// and with a fixed creation time the same image ID.
func TestImportCompressions(t *testing.T) {
	ieRequireRoot(t)
	ctx := context.Background()
	s := ieOpen(t, "")
	plain := ieTar(t, ieBaseTree())
	var ids []digest.Digest
	for i, in := range [][]byte{plain, ieCompress(t, plain, layer.Gzip), ieCompress(t, plain, layer.Zstd)} {
		img, id, err := s.Import(ctx, bytes.NewReader(in), ImportOptions{Ref: "comp:" + string(rune('a'+i)), Created: ieTime})
		if err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
		m, _, err := s.Manifest(ctx, img)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := s.Config(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if len(cfg.RootFS.DiffIDs) != 1 || cfg.RootFS.DiffIDs[0] != digest.FromBytes(plain) {
			t.Fatalf("input %d: diff IDs %v, want [%s]", i, cfg.RootFS.DiffIDs, digest.FromBytes(plain))
		}
		if cfg.History[0].Comment != "Imported from -" || !cfg.Created.Equal(ieTime) {
			t.Fatalf("input %d: history %+v created %v", i, cfg.History, cfg.Created)
		}
		if cfg.OS != "linux" || cfg.Architecture == "" {
			t.Fatalf("input %d: platform %+v", i, cfg.Platform)
		}
		ids = append(ids, id)
	}
	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Fatalf("image IDs differ: %v", ids)
	}
}

// TestImportChanges: --change instructions set the config.
func TestImportChanges(t *testing.T) {
	ieRequireRoot(t)
	ctx := context.Background()
	s := ieOpen(t, "")
	changes := []string{
		`ENV PATH=/usr/bin:/bin HOME=/root`,
		`ENV GREETING hello world`,
		`ENTRYPOINT ["/bin/tool"]`,
		`CMD --help`,
		`EXPOSE 80 53/udp 8000-8002`,
		`LABEL org.example.name="my app" version=1`,
		`USER 1000:1000`,
		`VOLUME ["/data", "/logs"]`,
		"WORKDIR /srv\nWORKDIR app",
		`STOPSIGNAL SIGTERM`,
	}
	img, _, err := s.Import(ctx, bytes.NewReader(ieTar(t, ieBaseTree())), ImportOptions{Ref: "changed", Changes: changes, Message: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := s.Manifest(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := s.Config(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Config
	check := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", what, got, want)
		}
	}
	check("Env", c.Env, []string{"PATH=/usr/bin:/bin", "HOME=/root", "GREETING=hello world"})
	check("Entrypoint", c.Entrypoint, []string{"/bin/tool"})
	check("Cmd", c.Cmd, []string{"/bin/sh", "-c", "--help"})
	check("ExposedPorts", c.ExposedPorts, map[string]struct{}{"80/tcp": {}, "53/udp": {}, "8000/tcp": {}, "8001/tcp": {}, "8002/tcp": {}})
	check("Labels", c.Labels, map[string]string{"org.example.name": "my app", "version": "1"})
	check("User", c.User, "1000:1000")
	check("Volumes", c.Volumes, map[string]struct{}{"/data": {}, "/logs": {}})
	check("WorkingDir", c.WorkingDir, "/srv/app")
	check("StopSignal", c.StopSignal, "SIGTERM")
	check("comment", cfg.History[0].Comment, "hello")
}

// TestImportRefusesBadInput: a stream that is not a tar, a tar with a
// breakout name, a bad change or reference leave no image behind.
func TestImportRefusesBadInput(t *testing.T) {
	ieRequireRoot(t)
	ctx := context.Background()
	s := ieOpen(t, "")
	outside := t.TempDir()
	cases := map[string]struct {
		in []byte
		o  ImportOptions
	}{
		"not a tar":    {[]byte(strings.Repeat("this is not a tar archive\n", 100)), ImportOptions{Ref: "bad:1"}},
		"truncated":    {ieTar(t, []ieEnt{{Name: "big", Type: tar.TypeReg, Mode: 0o644, Body: strings.Repeat("x", 10000)}})[:5000], ImportOptions{Ref: "bad:2"}},
		"breakout":     {ieTar(t, []ieEnt{{Name: "../../../../" + outside + "/evil", Type: tar.TypeReg, Mode: 0o644, Body: "x"}}), ImportOptions{Ref: "bad:3"}},
		"bad change":   {ieTar(t, ieBaseTree()), ImportOptions{Ref: "bad:4", Changes: []string{"RUN rm -rf /"}}},
		"digest ref":   {ieTar(t, ieBaseTree()), ImportOptions{Ref: "x@sha256:" + strings.Repeat("a", 64)}},
		"xz":           {[]byte{0xfd, '7', 'z', 'X', 'Z', 0, 0, 0}, ImportOptions{Ref: "bad:5"}},
		"bad platform": {ieTar(t, ieBaseTree()), ImportOptions{Ref: "bad:6", Changes: []string{"EXPOSE 99999"}}},
	}
	for name, c := range cases {
		if _, _, err := s.Import(ctx, bytes.NewReader(c.in), c.o); err == nil {
			t.Errorf("%s: import succeeded", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	imgs, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 0 {
		t.Fatalf("images left: %+v", imgs)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatalf("breakout wrote outside: %v", ents)
	}
	rep, err := s.Content().Check(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 0 {
		t.Fatalf("content store findings: %+v", rep.Findings)
	}
}

// ieKillEnv names the store root a re-executed test binary imports into.
const ieKillEnv = "BERTH_TEST_IMPORT_KILL_ROOT"

// TestImportKillHelper is the child of TestImportKilled: it imports
// standard input until it is killed.
func TestImportKillHelper(t *testing.T) {
	root := os.Getenv(ieKillEnv)
	if root == "" {
		t.Skip("helper process of TestImportKilled")
	}
	s, err := Open(context.Background(), root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Import(context.Background(), os.Stdin, ImportOptions{Ref: "killed:1"})
	t.Fatalf("import returned: %v", err)
}

// TestImportKilled: kill -9 in the middle of an import streaming a large
// tar from a pipe leaves the store consistent: no image, only a stale
// ingest, which repair removes; the store works after.
func TestImportKilled(t *testing.T) {
	ieRequireRoot(t)
	ctx := context.Background()
	root := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestImportKillHelper$")
	cmd.Env = append(os.Environ(), ieKillEnv+"="+root)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	// A tar of one 1 GiB file of incompressible bytes; the child is
	// killed after 24 MiB, well inside it.
	tw := tar.NewWriter(stdin)
	if err := tw.WriteHeader(&tar.Header{Name: "big", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1 << 30, ModTime: ieTime}); err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 24; i++ {
		for j := 0; j+8 <= len(chunk); j += 8 {
			binary.LittleEndian.PutUint64(chunk[j:], rng.Uint64())
		}
		if _, err := tw.Write(chunk); err != nil {
			t.Fatalf("child stopped reading: %v\n%s", err, out.String())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed = true
	cmd.Wait()
	stdin.Close()

	s, err := Open(ctx, root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	imgs, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 0 {
		t.Fatalf("a killed import left images: %+v", imgs)
	}
	rep, err := s.Content().Check(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	stale := 0
	for _, f := range rep.Findings {
		if f.Kind != content.KindStaleIngest {
			t.Errorf("finding after kill: %+v", f)
		}
		stale++
	}
	if stale != 1 {
		t.Errorf("%d stale ingests, want the killed import's (child output: %s)", stale, out.String())
	}
	if rep, err = s.Content().Check(ctx, true); err != nil || !rep.OK() {
		t.Fatalf("repair: %+v %v", rep, err)
	}
	if _, err := s.GC(ctx); err != nil {
		t.Fatal(err)
	}
	img, _, err := s.Import(ctx, bytes.NewReader(ieTar(t, ieBaseTree())), ImportOptions{Ref: "after:1"})
	if err != nil {
		t.Fatal(err)
	}
	ieMount(t, s, "after", img)
	if rep, err = s.Content().Check(ctx, false); err != nil || len(rep.Findings) != 0 {
		t.Fatalf("check after a new import: %+v %v", rep, err)
	}
}
