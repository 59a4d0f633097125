package cli_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// dockerRegistry starts Debian's docker-registry (distribution 2.8) on a
// free loopback port, storage in a temporary directory, and stops it by
// its PID when the test ends. It returns host:port.
func dockerRegistry(t *testing.T) string {
	t.Helper()
	const bin = "/usr/bin/docker-registry"
	if _, err := os.Stat(bin); err != nil {
		t.Skip("docker-registry not installed (make deps installs it)")
	}
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	conf := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s/data
  delete:
    enabled: true
http:
  addr: %s
`, dir, addr)
	cf := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", cf)
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	})
	for i := 0; ; i++ {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		if i > 100 {
			b, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("docker-registry on %s did not start: %v\n%s", addr, err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// registryDigest asks a registry for the digest of repo:tag.
func registryDigest(t *testing.T, host, repo, tag string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodHead, "http://"+host+"/v2/"+repo+"/manifests/"+tag, nil)
	req.Header.Set("Accept", strings.Join([]string{ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageIndex,
		"application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json"}, ", "))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HEAD %s/%s:%s: %s", host, repo, tag, resp.Status)
	}
	return resp.Header.Get("Docker-Content-Digest")
}

var pushDigest = regexp.MustCompile(`(?m)^(\S+): digest: (sha256:[0-9a-f]{64}) size: \d+$`)

// localDigest is the manifest (or index) digest a local name points at.
func (e *env) localDigest(name string) string {
	e.t.Helper()
	return strings.TrimSpace(e.must("image", "inspect", "--format", "{{.Descriptor.digest}}", name))
}

// TestShipDockerRegistry pushes a bootstrapped busybox to Debian's
// docker-registry, mounts it into another repository, pulls it into an
// empty root, compares digests and runs it.
func TestShipDockerRegistry(t *testing.T) {
	host := dockerRegistry(t)
	e := newEnv(t).withBusybox()
	name := host + "/test/busybox:1"
	e.must("tag", "busybox", name)
	local := e.localDigest(name)

	out := e.must("push", name)
	m := pushDigest.FindStringSubmatch(out)
	if !strings.Contains(out, "The push refers to repository ["+host+"/test/busybox]") || !strings.Contains(out, ": Pushed") || m == nil || m[2] != local {
		t.Fatalf("push output:\n%s\nwant Pushed lines and digest %s", out, local)
	}
	if d := registryDigest(t, host, "test/busybox", "1"); d != local {
		t.Fatalf("registry has %s, berth %s", d, local)
	}
	// Same registry, another repository: the blobs are mounted.
	other := host + "/test/other:2"
	e.must("tag", "busybox", other)
	out = e.must("push", other)
	if !strings.Contains(out, "Mounted from test/busybox") || strings.Contains(out, ": Pushed") {
		t.Fatalf("second push did not mount:\n%s", out)
	}
	// Once more: nothing to send.
	if out = e.must("push", name); !strings.Contains(out, "Layer already exists") {
		t.Fatalf("third push:\n%s", out)
	}
	// Quiet: the name alone, on standard output.
	if out = e.must("push", "-q", name); out != name+"\n" {
		t.Fatalf("push -q: %q, want %q", out, name+"\n")
	}
	// Every tag of the repository.
	e.must("tag", "busybox", host+"/test/busybox:2")
	if out = e.must("push", "-a", host+"/test/busybox"); !strings.Contains(out, "1: digest: "+local) || !strings.Contains(out, "2: digest: "+local) {
		t.Fatalf("push --all-tags:\n%s", out)
	}

	// A new root pulls it back.
	e2 := newEnv(t)
	out = e2.must("pull", name)
	for _, want := range []string{"1: Pulling from test/busybox", "Download complete", "Digest: " + local,
		"Status: Downloaded newer image for " + name, "\n" + name + "\n"} {
		if !strings.Contains(out, want) {
			t.Fatalf("pull output lacks %q:\n%s", want, out)
		}
	}
	if d := e2.localDigest(name); d != local {
		t.Fatalf("pulled %s, pushed %s", d, local)
	}
	if got := e2.must("run", "--rm", name, "echo", "shipped"); got != "shipped\n" {
		t.Fatalf("run: %q", got)
	}
	if out = e2.must("pull", name); !strings.Contains(out, "Status: Image is up to date for "+name) {
		t.Fatalf("second pull:\n%s", out)
	}
	if out = e2.must("pull", "-q", host+"/test/other:2"); out != host+"/test/other:2\n" {
		t.Fatalf("pull -q: %q", out)
	}
	// By digest, and every tag of the repository.
	byDigest := host + "/test/busybox@" + local
	if out = e2.must("pull", byDigest); !strings.Contains(out, "Digest: "+local) {
		t.Fatalf("pull by digest:\n%s", out)
	}
	if d := e2.localDigest(byDigest); d != local {
		t.Fatalf("pulled by digest %s, want %s", d, local)
	}
	e2.fails(1, "--all-tags", "pull", "-a", name)
	if out = e2.must("pull", "-a", host+"/test/busybox"); !strings.Contains(out, "1: Pulling from test/busybox") || !strings.HasSuffix(out, host+"/test/busybox\n") {
		t.Fatalf("pull --all-tags:\n%s", out)
	}
	if out := e2.must("system", "check"); !strings.Contains(out, "blobs") {
		t.Fatalf("system check: %s", out)
	}
	// manifest inspect prints the document the registry serves.
	var doc ocispec.Manifest
	raw := e2.must("manifest", "inspect", name)
	if err := json.Unmarshal([]byte(raw), &doc); err != nil || doc.SchemaVersion != 2 || len(doc.Layers) == 0 {
		t.Fatalf("manifest inspect: %v\n%s", err, raw)
	}
	e2.fails(125, "manifest unknown", "pull", host+"/test/busybox:nosuchtag")
	e2.fails(125, "does not exist locally", "push", host+"/test/nothing:1")
	// run pulls what is missing.
	e3 := newEnv(t)
	stdout, stderr, code := e3.run(nil, "run", "--rm", host+"/test/other:2", "echo", "pulled by run")
	if code != 0 || stdout != "pulled by run\n" || !strings.Contains(stderr, "Unable to find image") {
		t.Fatalf("run of a missing image: %d %q %q", code, stdout, stderr)
	}
	e3.fails(125, "no such image", "run", "--rm", "--pull", "never", host+"/test/busybox:1", "true")
	// berth-full pulls for run: its errors and exit status reach the user.
	e3.fails(125, "could not be pulled", "run", "--rm", host+"/test/nothing:1", "true")
	_, stderr, code = e3.run(nil, "create", "--pull", "always", host+"/test/other:2")
	if code != 0 || !strings.Contains(stderr, "Status: Image is up to date for "+host+"/test/other:2") {
		t.Fatalf("create --pull always: %d %q", code, stderr)
	}
}

// TestShipSkopeoInterop: skopeo copies what berth pushed, and berth pulls
// and runs what skopeo pushed from an OCI layout the test writes.
func TestShipSkopeoInterop(t *testing.T) {
	if _, err := exec.LookPath("skopeo"); err != nil {
		t.Skip("skopeo not installed (make deps installs it)")
	}
	host := dockerRegistry(t)
	e := newEnv(t).withBusybox()
	name := host + "/berth/busybox:1"
	e.must("tag", "busybox", name)
	e.must("push", name)
	local := e.localDigest(name)

	dir := t.TempDir()
	out, err := exec.Command("skopeo", "copy", "--src-tls-verify=false", "docker://"+name, "oci:"+dir+"/from-berth:1").CombinedOutput()
	if err != nil {
		t.Fatalf("skopeo copy from the registry: %v\n%s", err, out)
	}
	var idx ocispec.Index
	b, _ := os.ReadFile(filepath.Join(dir, "from-berth", "index.json"))
	if err := json.Unmarshal(b, &idx); err != nil || len(idx.Manifests) != 1 || idx.Manifests[0].Digest.String() != local {
		t.Fatalf("skopeo's copy: %v %s, want manifest %s", err, b, local)
	}

	layout := writeBusyboxLayout(t, filepath.Join(dir, "made"))
	out, err = exec.Command("skopeo", "copy", "--dest-tls-verify=false", "oci:"+layout+":v1", "docker://"+host+"/skopeo/made:v1").CombinedOutput()
	if err != nil {
		t.Fatalf("skopeo copy to the registry: %v\n%s", err, out)
	}
	want := registryDigest(t, host, "skopeo/made", "v1")
	e2 := newEnv(t)
	e2.must("pull", host+"/skopeo/made:v1")
	if d := e2.localDigest(host + "/skopeo/made:v1"); d != want {
		t.Fatalf("berth pulled %s, skopeo pushed %s", d, want)
	}
	if got := e2.must("run", "--rm", host+"/skopeo/made:v1", "echo", "from skopeo"); got != "from skopeo\n" {
		t.Fatalf("run: %q", got)
	}
}

// writeBusyboxLayout writes an OCI layout of one gzip layer holding
// Debian's static busybox as /bin/busybox and /bin/sh, tagged v1.
func writeBusyboxLayout(t *testing.T, dir string) string {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skip("busybox-static not installed")
	}
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	tw.WriteHeader(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bb))})
	tw.Write(bb)
	tw.WriteHeader(&tar.Header{Name: "bin/sh", Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777})
	tw.WriteHeader(&tar.Header{Name: "bin/echo", Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777})
	tw.Close()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(tarBuf.Bytes())
	zw.Close()
	write := func(b []byte) digest.Digest {
		d := digest.FromBytes(b)
		p := filepath.Join(dir, "blobs", "sha256", d.Encoded())
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return d
	}
	ld := write(gz.Bytes())
	cfg := ocispec.Image{Platform: ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH},
		Config: ocispec.ImageConfig{Env: []string{"PATH=/bin"}, Cmd: []string{"sh"}},
		RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromBytes(tarBuf.Bytes())}}}
	cb, _ := json.Marshal(cfg)
	cd := write(cb)
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest,
		Config: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: cd, Size: int64(len(cb))},
		Layers: []ocispec.Descriptor{{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: ld, Size: int64(gz.Len())}}}
	m.SchemaVersion = 2
	mb, _ := json.Marshal(m)
	md := write(mb)
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{{
		MediaType: ocispec.MediaTypeImageManifest, Digest: md, Size: int64(len(mb)),
		Annotations: map[string]string{ocispec.AnnotationRefName: "v1"}}}}
	idx.SchemaVersion = 2
	ib, _ := json.Marshal(idx)
	os.WriteFile(filepath.Join(dir, "index.json"), ib, 0o644)
	os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
	return dir
}

// TestShipPullKilledResumes kills a berth pull (SIGKILL) in the middle of
// a layer the registry sends slowly; the next pull fetches only the rest
// of it, counted by a proxy in front of docker-registry.
func TestShipPullKilledResumes(t *testing.T) {
	host := dockerRegistry(t)
	e := newEnv(t).withBusybox()
	name := host + "/slow/busybox:1"
	e.must("tag", "busybox", name)
	e.must("push", name)

	var served atomic.Int64
	var slow atomic.Bool
	slow.Store(true)
	target, _ := url.Parse("http://" + host)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(r *http.Response) error {
		if r.Request.Method == http.MethodGet && strings.Contains(r.Request.URL.Path, "/blobs/") {
			r.Body = &meteredBody{r: r.Body, n: &served, slow: &slow}
		}
		return nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: proxy}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	via := l.Addr().String() + "/slow/busybox:1"

	// The largest layer: the one the pull will be stopped in.
	var m ocispec.Manifest
	if err := json.Unmarshal([]byte(e.must("manifest", "inspect", name)), &m); err != nil {
		t.Fatal(err)
	}
	big := m.Layers[0]
	for _, l := range m.Layers {
		if l.Size > big.Size {
			big = l
		}
	}
	e2 := newEnv(t)
	sum := sha256.Sum256([]byte("pull-" + big.Digest.String()))
	partial := filepath.Join(e2.root, "content", "ingest", hex.EncodeToString(sum[:]), "data")
	cmd := exec.Command(binary, "--root", e2.root, "pull", via)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var kept int64
	for i := 0; i < 400; i++ {
		if fi, err := os.Stat(partial); err == nil && fi.Size() > big.Size/4 {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	fi, err := os.Stat(partial)
	if err != nil || fi.Size() == 0 || fi.Size() >= big.Size {
		t.Fatalf("killed pull left %v, %v of %d bytes", err, fi, big.Size)
	}
	kept = fi.Size()
	e2.fails(125, "no such image", "image", "inspect", via)
	// What the next pull must fetch: each blob not stored, less what its
	// partial download holds.
	var rest int64
	for _, b := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		if _, err := os.Stat(filepath.Join(e2.root, "content", "blobs", "sha256", b.Digest.Encoded())); err == nil {
			continue
		}
		s := sha256.Sum256([]byte("pull-" + b.Digest.String()))
		have := int64(0)
		if fi, err := os.Stat(filepath.Join(e2.root, "content", "ingest", hex.EncodeToString(s[:]), "data")); err == nil {
			have = fi.Size()
		}
		rest += b.Size - have
	}

	slow.Store(false)
	served.Store(0)
	out := e2.must("pull", via)
	if !strings.Contains(out, "Resuming from byte "+fmt.Sprint(kept)) {
		t.Errorf("second pull does not say it resumed at %d:\n%s", kept, out)
	}
	if got := served.Load(); got != rest {
		t.Fatalf("second pull fetched %d blob bytes, want %d (the %d of the layer killed kept)", got, rest, kept)
	}
	if d := e2.localDigest(via); d != e.localDigest(name) {
		t.Fatalf("digest %s after resume, want %s", d, e.localDigest(name))
	}
	e2.must("system", "check")
}

// meteredBody counts what passes, slowly while slow is set.
type meteredBody struct {
	r    io.ReadCloser
	n    *atomic.Int64
	slow *atomic.Bool
}

func (m *meteredBody) Read(p []byte) (int, error) {
	if m.slow.Load() {
		if len(p) > 16<<10 {
			p = p[:16<<10]
		}
		time.Sleep(20 * time.Millisecond)
	}
	n, err := m.r.Read(p)
	m.n.Add(int64(n))
	return n, err
}

func (m *meteredBody) Close() error { return m.r.Close() }

// TestShipBerthRegistry: the same round trip through `berth registry
// serve` (plain HTTP on loopback): push, mount into another repository,
// pull into an empty root, same digest, run.
func TestShipBerthRegistry(t *testing.T) {
	e := newEnv(t).withBusybox()
	r := startBerthRegistry(t, e, http.DefaultClient, "http")
	name := r.addr + "/ship/busybox:1"
	e.must("tag", "busybox", name)
	local := e.localDigest(name)
	out := e.must("push", name)
	if m := pushDigest.FindStringSubmatch(out); m == nil || m[2] != local {
		t.Fatalf("push output:\n%s\nwant digest %s", out, local)
	}
	if d := registryDigest(t, r.addr, "ship/busybox", "1"); d != local {
		t.Fatalf("registry has %s, berth %s", d, local)
	}
	e.must("tag", "busybox", r.addr+"/ship/other:1")
	if out = e.must("push", r.addr+"/ship/other:1"); !strings.Contains(out, "Mounted from ship/busybox") {
		t.Fatalf("push to another repository did not mount:\n%s", out)
	}
	e2 := newEnv(t)
	e2.must("pull", name)
	if d := e2.localDigest(name); d != local {
		t.Fatalf("pulled %s, pushed %s", d, local)
	}
	if got := e2.must("run", "--rm", name, "echo", "via berth registry"); got != "via berth registry\n" {
		t.Fatalf("run: %q", got)
	}
}
