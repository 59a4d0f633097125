// Package runtime_test drives the berth-runtime binary as containerd or a
// user would: real namespaces, cgroups and mounts, so it needs root.
package runtime_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/runtime/spec"
)

// binary is the berth-runtime built once for the whole run.
var binary string

// sharedRootfs is a busybox rootfs that tests use read-only.
var sharedRootfs string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Println("tests/runtime: skipping: berth-runtime integration tests need root")
		return 0
	}
	dir, err := os.MkdirTemp("", "berth-runtime-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "berth-runtime")
	build := exec.Command("go", "build", "-tags", "osusergo,netgo", "-ldflags", `-extldflags "-static"`, "-o", binary, "berth/cmd/berth-runtime")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build berth-runtime:", err)
		return 1
	}
	// Beside it, as make build puts it: containers with only new
	// namespaces start their init from it (TestInitBinary).
	build = exec.Command("go", "build", "-tags", "osusergo,netgo", "-o", filepath.Join(dir, "berth-runtime-init"), "berth/cmd/berth-runtime-init")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build berth-runtime-init:", err)
		return 1
	}
	sharedRootfs = filepath.Join(dir, "rootfs")
	if err := makeBusyboxRootfs(sharedRootfs); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// makeBusyboxRootfs lays out a minimal rootfs from Debian's busybox-static.
func makeBusyboxRootfs(dir string) error {
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return fmt.Errorf("busybox-static is needed (apt-get install busybox-static): %w", err)
	}
	for _, d := range []string{"bin", "proc", "sys", "dev", "etc", "tmp", "root"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "bin/busybox"), bb, 0o755); err != nil {
		return err
	}
	out, err := exec.Command(filepath.Join(dir, "bin/busybox"), "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	for _, a := range strings.Fields(string(out)) {
		if a == "busybox" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", a)); err != nil && !os.IsExist(err) {
			return err
		}
	}
	passwd := "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n"
	return os.WriteFile(filepath.Join(dir, "etc/passwd"), []byte(passwd), 0o644)
}

// requireRoot skips a test that needs root when run unprivileged.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// env is one test's runtime: its own state root, cleaned up at the end.
type env struct {
	t    *testing.T
	root string
	// bin, if set, is the berth-runtime to run instead of binary.
	bin string
}

var idSeq struct {
	sync.Mutex
	n int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	requireRoot(t)
	e := &env{t: t, root: t.TempDir()}
	t.Cleanup(func() {
		// Force-delete whatever the test left, then check nothing remains.
		out, _, _ := e.run("list", "-q")
		for _, id := range strings.Fields(out) {
			if _, stderr, code := e.run("delete", "--force", id); code != 0 {
				t.Errorf("cleanup: delete %s: %s", id, stderr)
			}
		}
	})
	return e
}

// id returns a container id unique in this test run.
func (e *env) id() string {
	idSeq.Lock()
	defer idSeq.Unlock()
	idSeq.n++
	name := strings.NewReplacer("/", "-", " ", "-").Replace(e.t.Name())
	if len(name) > 40 {
		name = name[:40]
	}
	return fmt.Sprintf("%s-%d-%d", name, os.Getpid(), idSeq.n)
}

// run invokes berth-runtime with --root set and returns stdout, stderr and
// the exit code.
func (e *env) run(args ...string) (string, string, int) {
	return e.runIn(nil, args...)
}

func (e *env) runIn(stdin *os.File, args ...string) (string, string, int) {
	e.t.Helper()
	return e.runWith(stdin, nil, args...)
}

// runWithFiles runs berth-runtime with extra descriptors from fd 3 on.
func (e *env) runWithFiles(extra []*os.File, args ...string) (string, string, int) {
	e.t.Helper()
	return e.runWith(nil, extra, args...)
}

// command returns an unstarted berth-runtime invocation with --root set,
// for tests that need their own stdio or extra descriptors.
func (e *env) command(args ...string) *exec.Cmd {
	bin := binary
	if e.bin != "" {
		bin = e.bin
	}
	return exec.Command(bin, append([]string{"--root", e.root}, args...)...)
}

func (e *env) runWith(stdin *os.File, extra []*os.File, args ...string) (string, string, int) {
	e.t.Helper()
	cmd := e.command(args...)
	// Files, not pipes: a detached container keeps the stdio it was given,
	// and a pipe would never reach end of file.
	outf, errf := tempFile(e.t), tempFile(e.t)
	cmd.Stdout, cmd.Stderr = outf, errf
	if stdin != nil {
		cmd.Stdin = stdin
	}
	cmd.ExtraFiles = extra
	err := cmd.Run()
	out, errb := readBack(e.t, outf), readBack(e.t, errf)
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			e.t.Fatalf("run berth-runtime %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return out, errb, code
}

func tempFile(t *testing.T) *os.File {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stdio")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func readBack(t *testing.T, f *os.File) string {
	t.Helper()
	defer f.Close()
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// mustRun is run that fails the test on a non-zero exit.
func (e *env) mustRun(args ...string) string {
	e.t.Helper()
	out, stderr, code := e.run(args...)
	if code != 0 {
		e.t.Fatalf("berth-runtime %s: exit %d: %s%s", strings.Join(args, " "), code, stderr, out)
	}
	return out
}

// state returns the OCI state of a container.
func (e *env) state(id string) map[string]any {
	e.t.Helper()
	out := e.mustRun("state", id)
	var st map[string]any
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		e.t.Fatalf("state %s: %v: %s", id, err, out)
	}
	return st
}

// waitStatus polls until the container reaches status or the deadline.
func (e *env) waitStatus(id, status string) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := e.state(id)
		if st["status"] == status {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("container %s: status %v, want %s", id, st["status"], status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// bundle is a bundle directory with a config the test edits before save.
type bundle struct {
	Dir  string
	Spec *specs.Spec
}

// newBundle returns a bundle on the shared read-only busybox rootfs that
// runs args without a terminal.
func newBundle(t testing.TB, args ...string) *bundle {
	t.Helper()
	dir := t.TempDir()
	s, err := spec.Default()
	if err != nil {
		t.Fatal(err)
	}
	s.Root.Path = sharedRootfs
	s.Process.Terminal = false
	s.Process.Args = args
	return &bundle{Dir: dir, Spec: s}
}

// privateRootfs gives the bundle its own writable copy of the rootfs.
func (b *bundle) privateRootfs(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(b.Dir, "rootfs")
	if err := makeBusyboxRootfs(dir); err != nil {
		t.Fatal(err)
	}
	b.Spec.Root.Path = dir
	b.Spec.Root.Readonly = false
	return dir
}

func (b *bundle) save(t testing.TB) string {
	t.Helper()
	data, err := json.MarshalIndent(b.Spec, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.Dir, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return b.Dir
}

// runContainer runs the bundle in the foreground and returns its output
// and exit code.
func (e *env) runContainer(b *bundle) (string, string, int) {
	e.t.Helper()
	dir := b.save(e.t)
	return e.run("run", "--bundle", dir, e.id())
}

// cgroupGone checks that no cgroup directory named id is left on the host.
func cgroupGone(t *testing.T, id string) {
	t.Helper()
	matches, _ := filepath.Glob("/sys/fs/cgroup/*/berth/" + id)
	more, _ := filepath.Glob("/sys/fs/cgroup/berth/" + id)
	if len(matches)+len(more) > 0 {
		t.Errorf("cgroup of %s left behind: %v", id, append(matches, more...))
	}
}

// processRunning reports whether pid exists and is not a zombie (an exited
// container's init may wait a moment to be reaped by whoever adopted it).
func processRunning(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}
