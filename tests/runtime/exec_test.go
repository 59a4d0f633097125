package runtime_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// execOut runs exec and fails the test on a non-zero exit.
func (e *env) execOut(id string, args ...string) string {
	e.t.Helper()
	return e.mustRun(append([]string{"exec", id}, args...)...)
}

func TestExecJoinsNamespacesAndCgroup(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sh", "-c", "echo from-init > /tmp/marker; sleep 60")
	b.Spec.Hostname = "exec-test-host"
	// /tmp is a tmpfs of the container's mount namespace: only a process
	// in that namespace sees the file init writes there.
	b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev"}})
	id := e.startContainer(b)
	init := e.pid(id)

	if out := e.execOut(id, "hostname"); out != "exec-test-host\n" {
		t.Errorf("hostname in exec: %q", out)
	}
	out := e.execOut(id, "sh", "-c", "echo $$")
	if n, err := strconv.Atoi(strings.TrimSpace(out)); err != nil || n == 1 || n > 100 {
		t.Errorf("pid of exec'd shell in the container's pid namespace: %q", out)
	}
	// ps in the container sees the init as pid 1.
	ps := e.execOut(id, "ps", "-o", "pid,args")
	var sawInit bool
	for _, l := range strings.Split(ps, "\n") {
		f := strings.Fields(l)
		// sh -c executes its last command in place: init is sleep.
		if len(f) >= 2 && f[0] == "1" && strings.Contains(l, "sleep 60") {
			sawInit = true
		}
	}
	if !sawInit {
		t.Errorf("ps in the container does not show init as pid 1:\n%s", ps)
	}
	for tries := 0; ; tries++ {
		out, _, code := e.run("exec", id, "cat", "/tmp/marker")
		if code == 0 && out == "from-init\n" {
			break
		}
		if tries > 200 {
			t.Fatalf("exec does not see the file init wrote to its /tmp: %q", out)
		}
	}
	if _, err := os.Stat(filepath.Join(sharedRootfs, "tmp/marker")); err == nil {
		t.Fatal("init's /tmp is the host rootfs, the test proves nothing")
	}
	// Every namespace of the exec'd process is the init's.
	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	e.mustRun("exec", "-d", "--pid-file", pidFile, id, "sleep", "60")
	execPid := readPidFile(t, pidFile)
	for _, ns := range []string{"mnt", "uts", "ipc", "net", "pid", "cgroup"} {
		a, err1 := os.Readlink(filepath.Join("/proc", strconv.Itoa(init), "ns", ns))
		b, err2 := os.Readlink(filepath.Join("/proc", strconv.Itoa(execPid), "ns", ns))
		if err1 != nil || err2 != nil || a != b {
			t.Errorf("%s namespace: init %s (%v), exec %s (%v)", ns, a, err1, b, err2)
		}
	}
	if a, b := hostCgroups(t, init), hostCgroups(t, execPid); a != b || !strings.Contains(a, "/berth/"+id+"\n") {
		t.Errorf("cgroups: init\n%s\nexec\n%s", a, b)
	}
	// Inside, the cgroup namespace is rooted at the container's cgroup.
	if out := e.execOut(id, "cat", "/proc/self/cgroup"); strings.Contains(out, id) {
		t.Errorf("exec'd process sees host cgroup paths: %q", out)
	}
	e.mustRun("delete", "--force", id)
	waitProcessGone(t, execPid)
	e.assertNothingLeft(id, b.Dir)
}

func TestExecExitStatus(t *testing.T) {
	e := newEnv(t)
	id := e.startContainer(newBundle(t, "sleep", "60"))
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"true"}, 0},
		{[]string{"sh", "-c", "exit 42"}, 42},
		{[]string{"sh", "-c", "kill -TERM $$"}, 128 + 15},
	} {
		if _, stderr, code := e.run(append([]string{"exec", id}, tc.args...)...); code != tc.code {
			t.Errorf("exec %v: code %d, want %d (stderr %q)", tc.args, code, tc.code, stderr)
		}
	}
	// A program that cannot be found is the runtime's error, named.
	_, stderr, code := e.run("exec", id, "no-such-program")
	if code == 0 || !strings.Contains(stderr, "no-such-program") {
		t.Errorf("exec of a missing program: code %d, stderr %q", code, stderr)
	}
	// Stdout and stderr are the caller's.
	out, stderr, _ := e.run("exec", id, "sh", "-c", "echo out; echo err >&2")
	if out != "out\n" || stderr != "err\n" {
		t.Errorf("exec stdio: out %q err %q", out, stderr)
	}
	if e.state(id)["status"] != "running" {
		t.Errorf("container not running after execs")
	}
}

func TestExecOptions(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sleep", "60")
	b.Spec.Process.NoNewPrivileges = false
	b.Spec.Process.Env = append(b.Spec.Process.Env, "FROM_CONFIG=1")
	id := e.startContainer(b)

	if out := e.execOut(id, "sh", "-c", "echo $FROM_CONFIG $FOO"); out != "1\n" {
		t.Errorf("config env in exec: %q", out)
	}
	if out := e.mustRun("exec", "-e", "FOO=bar", "--env", "BAZ=qu ux", id, "sh", "-c", "echo $FOO/$BAZ/$FROM_CONFIG"); out != "bar/qu ux/1\n" {
		t.Errorf("exec -e: %q", out)
	}
	// -e overrides the config's setting, for programs that read the first
	// (getenv) as well as the last.
	if out := e.mustRun("exec", "-e", "FROM_CONFIG=2", "-e", "NEW=a", "-e", "NEW=b", id, "env"); !strings.Contains(out, "FROM_CONFIG=2\n") || strings.Count(out, "FROM_CONFIG=") != 1 || strings.Count(out, "NEW=") != 1 || !strings.Contains(out, "NEW=b\n") {
		t.Errorf("exec -e over the config's env: %q", out)
	}
	if out := e.mustRun("exec", "--cwd", "/proc", id, "pwd"); out != "/proc\n" {
		t.Errorf("exec --cwd: %q", out)
	}
	if out := e.execOut(id, "pwd"); out != "/\n" {
		t.Errorf("exec default cwd: %q", out)
	}
	if out := e.mustRun("exec", "-u", "65534:65534", id, "sh", "-c", "id -u; id -g"); out != "65534\n65534\n" {
		t.Errorf("exec -u 65534:65534: %q", out)
	}
	if out := e.mustRun("exec", "-u", "1000", id, "sh", "-c", "id -u; id -g"); out != "1000\n0\n" {
		t.Errorf("exec -u 1000: %q", out)
	}
	out := e.mustRun("exec", "-u", "65534:65534", "-g", "10", "-g", "20", id, "id", "-G")
	groups := strings.Fields(out)
	if !slices.Contains(groups, "10") || !slices.Contains(groups, "20") {
		t.Errorf("exec -g 10 -g 20: groups %q", out)
	}
	if _, stderr, code := e.run("exec", "-u", "nobody", id, "true"); code != 1 || !strings.Contains(stderr, "--user") {
		t.Errorf("exec -u nobody: code %d, stderr %q", code, stderr)
	}

	// Capabilities: CAP_SYS_ADMIN (21) is not in the default set.
	const sysAdmin = uint64(1) << 21
	if c := capEff(t, e.execOut(id, "cat", "/proc/self/status")); c&sysAdmin != 0 {
		t.Errorf("CAP_SYS_ADMIN effective without --cap: %x", c)
	}
	if c := capEff(t, e.mustRun("exec", "--cap", "CAP_SYS_ADMIN", id, "cat", "/proc/self/status")); c&sysAdmin == 0 {
		t.Errorf("exec --cap CAP_SYS_ADMIN: CapEff %x", c)
	}
	if _, stderr, code := e.run("exec", "--cap", "CAP_NOPE", id, "true"); code != 1 || !strings.Contains(stderr, "CAP_NOPE") {
		t.Errorf("exec --cap CAP_NOPE: code %d, stderr %q", code, stderr)
	}

	// no_new_privs: the config leaves it off, the flag sets it.
	if out := e.execOut(id, "grep", "NoNewPrivs", "/proc/self/status"); !strings.Contains(out, "0") {
		t.Errorf("NoNewPrivs without the flag: %q", out)
	}
	if out := e.mustRun("exec", "--no-new-privs", id, "grep", "NoNewPrivs", "/proc/self/status"); !strings.Contains(out, "1") {
		t.Errorf("exec --no-new-privs: %q", out)
	}
}

// capEff returns the CapEff mask of a /proc/<pid>/status.
func capEff(t *testing.T, status string) uint64 {
	t.Helper()
	for _, l := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatalf("CapEff %q: %v", v, err)
			}
			return n
		}
	}
	t.Fatalf("no CapEff in %q", status)
	return 0
}

func TestExecDetachPidFile(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sleep", "60")
	id := e.startContainer(b)
	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	out, stderr, code := e.run("exec", "-d", "--pid-file", pidFile, id, "sleep", "60")
	if code != 0 {
		t.Fatalf("exec -d: code %d, %s%s", code, out, stderr)
	}
	pid := readPidFile(t, pidFile)
	if !processRunning(pid) {
		t.Fatalf("detached exec %d is not running", pid)
	}
	if cmd, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline")); string(cmd) != "sleep\x0060\x00" {
		t.Errorf("pid file names %d running %q", pid, cmd)
	}
	if !slices.Contains(intStrings(e.psPids(id)), strconv.Itoa(pid)) {
		t.Errorf("detached exec %d not among the container's processes %v", pid, e.psPids(id))
	}
	e.mustRun("delete", "--force", id)
	waitProcessGone(t, pid)
	e.assertNothingLeft(id, b.Dir)
}

func intStrings(n []int) []string {
	var s []string
	for _, x := range n {
		s = append(s, strconv.Itoa(x))
	}
	return s
}

func TestExecProcessJSON(t *testing.T) {
	e := newEnv(t)
	id := e.startContainer(newBundle(t, "sleep", "60"))
	p := specs.Process{
		Args: []string{"sh", "-c", "echo $GREETING; pwd; id -u; exit 3"},
		Env:  []string{"PATH=/bin", "GREETING=hello from process.json"},
		Cwd:  "/proc",
		User: specs.User{UID: 65534, GID: 65534},
	}
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "process.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := e.run("exec", "--process", path, id)
	if code != 3 || out != "hello from process.json\n/proc\n65534\n" {
		t.Errorf("exec --process: code %d, out %q, stderr %q", code, out, stderr)
	}

	// A bad process.json names the file and the problem.
	bad := filepath.Join(t.TempDir(), "bad.json")
	for _, tc := range []struct{ doc, want string }{
		{`{"args": ["true"], "cwd": "/",}`, "bad.json"},
		{`{"args": "true", "cwd": "/"}`, "args"},
		{`{"args": [], "cwd": "/"}`, "process.args"},
		{`{"args": ["true"], "cwd": "relative"}`, "process.cwd"},
	} {
		if err := os.WriteFile(bad, []byte(tc.doc), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, stderr, code := e.run("exec", "-p", bad, id); code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("exec --process %s: code %d, stderr %q, want %q", tc.doc, code, stderr, tc.want)
		}
	}
	if _, stderr, code := e.run("exec", "-p", filepath.Join(t.TempDir(), "missing.json"), id); code != 1 || !strings.Contains(stderr, "missing.json") {
		t.Errorf("exec --process of a missing file: code %d, stderr %q", code, stderr)
	}
	if _, stderr, code := e.run("exec", "--console-socket", "/nonexistent.sock", id, "true"); code != 1 || !strings.Contains(stderr, "--console-socket") {
		t.Errorf("exec --console-socket without -t: code %d, stderr %q", code, stderr)
	}
	if _, stderr, code := e.run("exec", id); code != 1 || !strings.Contains(stderr, "command") {
		t.Errorf("exec without a command: code %d, stderr %q", code, stderr)
	}
}

func TestExecPreserveFDs(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sleep", "60")
	id := e.startContainer(b)
	f := tempFile(t)
	if _, err := f.WriteString("secret on fd 3\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := w.WriteString("pipe on fd 4\n"); err != nil {
		t.Fatal(err)
	}
	w.Close()
	out, stderr, code := e.runWithFiles([]*os.File{f, r}, "exec", "--preserve-fds", "2", id, "sh", "-c", "read a <&3; read b <&4; echo $a; echo $b")
	if code != 0 || out != "secret on fd 3\npipe on fd 4\n" {
		t.Errorf("exec --preserve-fds 2: code %d, out %q, stderr %q", code, out, stderr)
	}
	// Without the flag, the descriptors are not passed.
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	out, _, code = e.runWithFiles([]*os.File{f}, "exec", id, "sh", "-c", "cat <&3")
	if code == 0 || strings.Contains(out, "secret") {
		t.Errorf("exec without --preserve-fds reads fd 3: code %d, out %q", code, out)
	}
}

func TestCreatePreserveFDs(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sh", "-c", "read a <&3; echo $a > /tmp/got")
	rootfs := b.privateRootfs(t)
	dir := b.save(t)
	f := tempFile(t)
	if _, err := f.WriteString("passed to init\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	id := e.id()
	if _, stderr, code := e.runWithFiles([]*os.File{f}, "create", "--preserve-fds", "1", "--bundle", dir, id); code != 0 {
		t.Fatalf("create --preserve-fds 1: code %d, %s", code, stderr)
	}
	e.mustRun("start", id)
	waitFile(t, filepath.Join(rootfs, "tmp/got"), "passed to init\n")
	e.waitStatus(id, "stopped")
	e.mustRun("delete", id)
	e.assertNothingLeft(id, dir)
}

func TestExecNotRunning(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sleep", "60")
	id := e.startContainer(b)
	e.mustRun("kill", id, "KILL")
	e.waitStatus(id, "stopped")
	_, stderr, code := e.run("exec", id, "true")
	if code != 1 || !strings.Contains(stderr, "not running") || !strings.Contains(stderr, id) {
		t.Errorf("exec into a stopped container: code %d, stderr %q", code, stderr)
	}
	_, stderr, code = e.run("exec", "no-such-container", "true")
	if code != 1 || !strings.Contains(stderr, "does not exist") {
		t.Errorf("exec into a missing container: code %d, stderr %q", code, stderr)
	}
	e.mustRun("delete", id)
	e.assertNothingLeft(id, b.Dir)
}

// TestExecCreated: a created container can be exec'd into before start,
// as runc allows.
func TestExecCreated(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sleep", "60")
	b.Spec.Hostname = "created-host"
	id := e.create(b)
	if out := e.execOut(id, "hostname"); out != "created-host\n" {
		t.Errorf("exec into a created container: %q", out)
	}
	if e.state(id)["status"] != "created" {
		t.Errorf("exec started the container")
	}
}

func TestExecBadProcess(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sleep", "60")
	id := e.startContainer(b)
	before := e.psPids(id)
	for _, tc := range []struct {
		args  []string
		wants []string
	}{
		{[]string{"exec", "--cwd", "/no/such/dir", id, "true"}, []string{"process.cwd", "/no/such/dir"}},
		{[]string{"exec", "--cwd", "relative", id, "true"}, []string{"process.cwd", "relative"}},
		{[]string{"exec", id, "/no/such/program"}, []string{"/no/such/program"}},
		{[]string{"exec", "-e", "NOEQUALS", id, "true"}, []string{"process.env", "NOEQUALS"}},
		{[]string{"exec", "-u", "1:x", id, "true"}, []string{"--user", "1:x"}},
		{[]string{"exec", "--preserve-fds", "40", id, "true"}, []string{"--preserve-fds", "descriptor 3 is not open"}},
		{[]string{"exec", "--preserve-fds", "-1", id, "true"}, []string{"--preserve-fds"}},
	} {
		_, stderr, code := e.run(tc.args...)
		if code != 1 {
			t.Errorf("%v: exit %d, want 1 (stderr %q)", tc.args, code, stderr)
		}
		for _, w := range tc.wants {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: error %q does not name %q", tc.args, stderr, w)
			}
		}
	}
	// Nothing of the failed execs is left in the container.
	if after := e.psPids(id); len(after) != len(before) {
		t.Errorf("processes before %v, after failed execs %v", before, after)
	}
}
