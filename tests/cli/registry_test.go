package cli_test

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"berth/internal/regtest"
)

// buildRegistryBinary builds berth-registry beside the berth under test
// (berth registry execs it from there), once per run.
func buildRegistryBinary(t *testing.T) {
	t.Helper()
	out := filepath.Join(filepath.Dir(binary), "berth-registry")
	if _, err := os.Stat(out); err == nil {
		return
	}
	// Prebuilt binaries (a guest without Go): berth-registry comes with
	// them.
	if bin := os.Getenv("BERTH_TEST_BINDIR"); bin != "" {
		if err := copyBinary(filepath.Join(bin, "berth-registry"), out); err != nil {
			t.Fatalf("berth-registry from BERTH_TEST_BINDIR: %v", err)
		}
		return
	}
	build := exec.Command("go", "build", "-o", out, "berth/cmd/berth-registry")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build berth-registry: %v\n%s", err, b)
	}
}

// berthRegistry is a `berth registry serve` started by a test.
type berthRegistry struct {
	addr, root string
	cmd        *exec.Cmd
	stopped    bool
}

// startBerthRegistry runs `berth registry serve` with extra flags on a
// free loopback port and waits until /v2/ answers (any status) through
// client. It is stopped by SIGTERM when the test ends.
func startBerthRegistry(t *testing.T, e *env, client *http.Client, scheme string, flags ...string) *berthRegistry {
	t.Helper()
	buildRegistryBinary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &berthRegistry{addr: l.Addr().String(), root: filepath.Join(t.TempDir(), "registry")}
	l.Close()
	args := append([]string{"--root", e.root, "registry", "serve", "--addr", r.addr, "--root", r.root}, flags...)
	r.cmd = exec.Command(binary, args...)
	logf, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.stop(t)
		logf.Close()
	})
	for i := 0; ; i++ {
		resp, err := client.Get(scheme + "://" + r.addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			return r
		}
		if i > 100 {
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("berth registry serve on %s did not start: %v\n%s", r.addr, err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and requires a clean exit within drain time.
func (r *berthRegistry) stop(t *testing.T) {
	t.Helper()
	if r.stopped {
		return
	}
	r.stopped = true
	r.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("registry server exit: %v", err)
		}
	case <-time.After(15 * time.Second):
		r.cmd.Process.Kill()
		<-done
		t.Error("registry server ignored SIGTERM")
	}
}

// TestRegistryServeAuthTLS runs `berth registry serve` with TLS and an
// htpasswd file, logs in with berth login (wrong, then right password),
// pushes busybox, pulls it into an empty root with the same digest, runs
// it, logs out, and checks what the registry then refuses; gc refuses to
// run beside the server and works after it stopped.
func TestRegistryServeAuthTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := regtest.SelfSigned(t, dir)
	buildRegistryBinary(t)
	e := newEnv(t).withBusybox()
	// berth registry htpasswd makes the file (lowest bcrypt cost: the
	// server checks it on every request).
	line, stderr, code := e.run([]byte("s3cret\n"), "registry", "htpasswd", "--cost", "4", "alice")
	if code != 0 || !strings.HasPrefix(line, "alice:$2a$04$") {
		t.Fatalf("registry htpasswd: exit %d: %q %s", code, line, stderr)
	}
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	dockerDir := filepath.Join(dir, "docker")
	t.Setenv("DOCKER_CONFIG", dockerDir)
	berthConf := filepath.Join(dir, "berth.json")
	certsDir := filepath.Join(dir, "certs.d")
	if err := os.WriteFile(berthConf, []byte(`{"certs-dir": "`+certsDir+`"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BERTH_CONFIG", berthConf)

	tlsClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	reg := startBerthRegistry(t, e, tlsClient, "https", "--tls-cert", cert, "--tls-key", key, "--htpasswd", htpasswd)
	// The client trusts the certificate through certs.d, as Docker's.
	if err := os.MkdirAll(filepath.Join(certsDir, reg.addr), 0o755); err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(cert)
	if err := os.WriteFile(filepath.Join(certsDir, reg.addr, "ca.crt"), caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	resp, err := tlsClient.Get("https://" + reg.addr + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous /v2/: %s", resp.Status)
	}

	// Login: a wrong password is refused and nothing saved.
	_, stderr, code = e.run([]byte("wrong\n"), "login", "-u", "alice", "--password-stdin", reg.addr)
	if code != 1 || !strings.Contains(stderr, "unauthorized") {
		t.Fatalf("login with a wrong password: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dockerDir, "config.json")); err == nil {
		t.Fatal("a refused login saved credentials")
	}
	out, stderr, code := e.run([]byte("s3cret\n"), "login", "-u", "alice", "--password-stdin", reg.addr)
	if code != 0 || !strings.Contains(out, "Login Succeeded") {
		t.Fatalf("login: exit %d: %s%s", code, out, stderr)
	}
	st, err := os.Stat(filepath.Join(dockerDir, "config.json"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("config.json: %v %v", st, err)
	}
	var cf struct {
		Auths map[string]struct{ Auth string } `json:"auths"`
	}
	data, _ := os.ReadFile(filepath.Join(dockerDir, "config.json"))
	if err := json.Unmarshal(data, &cf); err != nil || cf.Auths[reg.addr].Auth != base64.StdEncoding.EncodeToString([]byte("alice:s3cret")) {
		t.Fatalf("config.json after login: %v\n%s", err, data)
	}

	// Push, pull into an empty root, same digest, run.
	name := reg.addr + "/e2e/busybox:1"
	e.must("tag", "busybox", name)
	local := e.localDigest(name)
	out = e.must("push", name)
	if m := pushDigest.FindStringSubmatch(out); m == nil || m[2] != local {
		t.Fatalf("push output:\n%s\nwant digest %s", out, local)
	}
	e2 := newEnv(t)
	e2.must("pull", name)
	if d := e2.localDigest(name); d != local {
		t.Fatalf("pulled %s, pushed %s", d, local)
	}
	if got := e2.must("run", "--rm", name, "echo", "over tls"); got != "over tls\n" {
		t.Fatalf("run: %q", got)
	}

	// gc refuses while the server holds the registry.
	e.fails(125, "in use", "registry", "gc", "--root", reg.root)

	// Logged out, the registry refuses the pull.
	if out := e.must("logout", reg.addr); !strings.Contains(out, "Removing login credentials for "+reg.addr) {
		t.Fatalf("logout: %q", out)
	}
	if out := e.must("logout", reg.addr); !strings.Contains(out, "Not logged in to "+reg.addr) {
		t.Fatalf("second logout: %q", out)
	}
	e3 := newEnv(t)
	if _, stderr, code := e3.run(nil, "pull", name); code == 0 || !strings.Contains(strings.ToLower(stderr), "unauthorized") {
		t.Fatalf("anonymous pull: exit %d: %s", code, stderr)
	}

	// Stopped by SIGTERM (cleanly), the root can be collected: everything
	// is referenced, nothing goes.
	reg.stop(t)
	out = e.must("registry", "gc", "--root", reg.root)
	if !strings.HasPrefix(out, "deleted 0 of ") {
		t.Fatalf("gc: %q", out)
	}
}

// TestRegistryServeBadFlags: refusals name what is wrong.
func TestRegistryServeBadFlags(t *testing.T) {
	buildRegistryBinary(t)
	e := newEnv(t)
	missing := filepath.Join(t.TempDir(), "nope")
	e.fails(125, "htpasswd", "registry", "serve", "--addr", "127.0.0.1:0", "--root", t.TempDir(), "--htpasswd", missing)
	if _, err := os.Stat(missing); err == nil {
		t.Error("a missing htpasswd file was created")
	}
	e.fails(125, "--tls-cert and --tls-key", "registry", "serve", "--addr", "127.0.0.1:0", "--root", t.TempDir(), "--tls-cert", missing)
	e.fails(125, "registry gc", "registry", "gc", "--root", missing)
}

// TestRegistryBearerLoginHelper: berth login against a registry behind
// Bearer token auth, the credentials kept by a credential helper (a fake
// docker-credential-berthtest script on PATH, as credsStore); push and
// pull through the token flow with what the helper returns.
func TestRegistryBearerLoginHelper(t *testing.T) {
	dir := t.TempDir()
	bin, state := filepath.Join(dir, "bin"), filepath.Join(dir, "helper-state")
	os.MkdirAll(bin, 0o755)
	os.MkdirAll(state, 0o700)
	script := `#!/bin/sh
read -r line || true
case "$1" in
store) printf '%s' "$line" > '` + state + `/creds' ;;
get) if [ -f '` + state + `/creds' ]; then cat '` + state + `/creds'; else echo "credentials not found in native keychain"; exit 1; fi ;;
erase) rm -f '` + state + `/creds' ;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-berthtest"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	dockerDir := filepath.Join(dir, "docker")
	os.MkdirAll(dockerDir, 0o700)
	if err := os.WriteFile(filepath.Join(dockerDir, "config.json"), []byte(`{"credsStore": "berthtest", "psFormat": "keep me"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dockerDir)

	e := newEnv(t).withBusybox()
	reg := startBerthRegistry(t, e, http.DefaultClient, "http")
	var tokens atomic.Int32
	host := regtest.BearerFront(t, reg.addr, "carol", "tok3n-pw", &tokens)

	_, stderr, code := e.run([]byte("nope\n"), "login", "-u", "carol", "--password-stdin", host)
	if code != 1 || !strings.Contains(stderr, "unauthorized") {
		t.Fatalf("login with a wrong password: exit %d: %s", code, stderr)
	}
	out, stderr, code := e.run([]byte("tok3n-pw\n"), "login", "-u", "carol", "--password-stdin", host)
	if code != 0 || !strings.Contains(out, "Login Succeeded") {
		t.Fatalf("login: exit %d: %s%s", code, out, stderr)
	}
	stored, _ := os.ReadFile(filepath.Join(state, "creds"))
	if string(stored) != `{"ServerURL":"`+host+`","Username":"carol","Secret":"tok3n-pw"}` {
		t.Fatalf("helper stored %q", stored)
	}
	data, _ := os.ReadFile(filepath.Join(dockerDir, "config.json"))
	if strings.Contains(string(data), "tok3n") || !strings.Contains(string(data), "keep me") {
		t.Fatalf("config.json after login:\n%s", data)
	}

	name := host + "/bearer/busybox:1"
	e.must("tag", "busybox", name)
	local := e.localDigest(name)
	before := tokens.Load()
	e.must("push", name)
	e2 := newEnv(t)
	e2.must("pull", name)
	if d := e2.localDigest(name); d != local {
		t.Fatalf("pulled %s, pushed %s", d, local)
	}
	if tokens.Load() == before {
		t.Fatal("push and pull fetched no token")
	}
	if out := e.must("logout", host); !strings.Contains(out, "Removing login credentials for "+host) {
		t.Fatalf("logout: %q", out)
	}
	if _, err := os.Stat(filepath.Join(state, "creds")); err == nil {
		t.Fatal("logout left the credentials in the helper")
	}
}

// TestRegistryHtpasswdDashUser: a user name that starts with a dash (after
// "--", as for any command) reaches berth-registry as the name, not as
// one of its flags.
func TestRegistryHtpasswdDashUser(t *testing.T) {
	buildRegistryBinary(t)
	e := newEnv(t)
	out, stderr, code := e.run([]byte("pw\n"), "registry", "htpasswd", "--cost", "4", "--", "-bob")
	if code != 0 || !strings.HasPrefix(out, "-bob:$2") {
		t.Fatalf("htpasswd -- -bob: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}

// TestRegistryServeMissingBinary: a berth without berth-registry beside
// it nor in PATH says what is missing and how to get it, exit 125.
func TestRegistryServeMissingBinary(t *testing.T) {
	dir := t.TempDir()
	lone := filepath.Join(dir, "berth")
	b, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lone, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(lone, "--root", filepath.Join(dir, "root"), "registry", "serve", "--addr", "127.0.0.1:0", "--root", filepath.Join(dir, "reg"))
	cmd.Env = append(os.Environ(), "PATH="+dir)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 125 || !strings.Contains(string(out), "berth-registry not found") ||
		!strings.Contains(string(out), "make build") {
		t.Fatalf("serve without berth-registry: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "reg")); err == nil {
		t.Error("the registry root was created although nothing could serve it")
	}
}

// TestRegistryLoginPasswordTooLong: a password on stdin longer than berth
// reads is refused as such, not cut short and sent.
func TestRegistryLoginPasswordTooLong(t *testing.T) {
	dockerDir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dockerDir)
	e := newEnv(t)
	long := append(bytes.Repeat([]byte("p"), 65<<10), '\n')
	_, stderr, code := e.run(long, "login", "-u", "alice", "--password-stdin", "127.0.0.1:1")
	if code != 1 || !strings.Contains(stderr, "password on stdin longer than") {
		t.Fatalf("login with a 65 KiB password: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dockerDir, "config.json")); err == nil {
		t.Error("a refused login saved credentials")
	}
}
