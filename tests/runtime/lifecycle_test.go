package runtime_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestRunForegroundExitStatus(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sh", "-c", "echo hello; exit 7")
	out, stderr, code := e.runContainer(b)
	if code != 7 {
		t.Fatalf("exit code %d, want 7 (stderr %q)", code, stderr)
	}
	if out != "hello\n" {
		t.Fatalf("stdout %q", out)
	}
}

func TestCreateStartDeleteLifecycle(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sleep", "60")
	dir := b.save(t)
	id := e.id()
	e.mustRun("create", "--bundle", dir, id)
	st := e.state(id)
	if st["status"] != "created" {
		t.Fatalf("after create: status %v", st["status"])
	}
	pid := int(st["pid"].(float64))
	if pid <= 0 {
		t.Fatalf("pid %d", pid)
	}
	// The process exists but has not executed the user program yet.
	comm, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if strings.Contains(string(comm), "sleep") {
		t.Fatalf("user process ran before start: %q", comm)
	}
	// A created container can be deleted without --force; its waiting
	// init goes with it.
	e.mustRun("delete", id)
	if processRunning(pid) {
		t.Fatalf("init %d still there after delete", pid)
	}
	e.mustRun("create", "--bundle", dir, id)
	e.mustRun("start", id)
	e.waitStatus(id, "running")
	if _, stderr, code := e.run("start", id); code == 0 || !strings.Contains(stderr, "running") {
		t.Fatalf("second start: code %d, stderr %q", code, stderr)
	}
	if _, stderr, code := e.run("delete", id); code == 0 || !strings.Contains(stderr, "running") {
		t.Fatalf("delete of running container: code %d, stderr %q", code, stderr)
	}
	e.mustRun("kill", id, "KILL")
	e.waitStatus(id, "stopped")
	if _, stderr, code := e.run("start", id); code == 0 || !strings.Contains(stderr, "stopped") {
		t.Fatalf("start of stopped container: code %d, stderr %q", code, stderr)
	}
	e.mustRun("delete", id)
	if _, err := os.Stat(filepath.Join(e.root, id)); !os.IsNotExist(err) {
		t.Fatalf("state directory left after delete: %v", err)
	}
	cgroupGone(t, id)
}

func TestStatusFromLaterCommands(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sh", "-c", "while [ ! -e /tmp/stop ]; do sleep 0.02; done")
	rootfs := b.privateRootfs(t)
	id := e.create(b)

	// Every command below is a new runtime process: the status comes from
	// the system, not from the process that created the container.
	st := e.state(id)
	if st["status"] != "created" {
		t.Fatalf("after create: status %v", st["status"])
	}
	for _, k := range []string{"ociVersion", "id", "pid", "bundle", "rootfs", "created", "owner"} {
		if _, ok := st[k]; !ok {
			t.Errorf("state has no %q: %v", k, st)
		}
	}
	if st["id"] != id || st["bundle"] != b.Dir || st["rootfs"] != rootfs || st["owner"] != "root" {
		t.Errorf("state %v", st)
	}
	pid := e.pid(id)
	e.mustRun("start", id)
	e.waitStatus(id, "running")
	if e.pid(id) != pid {
		t.Errorf("pid changed on start: %d, was %d", e.pid(id), pid)
	}
	// The process exits by itself: stopped, and the state has no pid.
	if err := os.WriteFile(filepath.Join(rootfs, "tmp/stop"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	e.waitStatus(id, "stopped")
	if p, ok := e.state(id)["pid"]; ok && p.(float64) != 0 {
		t.Errorf("stopped container reports pid %v", p)
	}
	waitProcessGone(t, pid)
	e.mustRun("delete", id)
	e.assertNothingLeft(id, b.Dir)
}

// TestCreatingAfterRuntimeKilled freezes the container's cgroup before
// create, so create hangs in setup; it is then killed as a caller's
// timeout would. state reports creating, and delete --force removes what the
// dead create had made: the cgroup and the frozen half-made init.
func TestCreatingAfterRuntimeKilled(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "true")
	dir := b.save(t)
	id := e.id()
	cg := frozenCgroup(t, id)
	cmd := e.command("create", "--bundle", dir, id)
	done := startHung(t, cmd, cg)
	if st := e.state(id); st["status"] != "creating" {
		t.Fatalf("while create hangs: status %v", st["status"])
	}
	_ = cmd.Process.Kill()
	done <- <-done
	st := e.state(id)
	if st["status"] != "creating" {
		t.Fatalf("after create was killed: status %v", st["status"])
	}
	if out := e.mustRun("list"); !strings.Contains(out, "creating") {
		t.Errorf("list does not show the creating container: %q", out)
	}
	if _, stderr, code := e.run("start", id); code != 1 || !strings.Contains(stderr, "creating") {
		t.Errorf("start of a creating container: code %d, stderr %q", code, stderr)
	}
	e.mustRun("delete", "--force", id)
	if procs, _ := os.ReadFile(filepath.Join(cg, "cgroup.procs")); len(procs) > 0 {
		t.Errorf("processes %q left in the container's cgroup", procs)
	}
	e.assertNothingLeft(id, dir)
}

// frozenCgroup makes the container's cgroup v1 freezer group, frozen, so
// that the container's processes stop as soon as they are moved into it.
func frozenCgroup(t *testing.T, id string) string {
	t.Helper()
	freezer := "/sys/fs/cgroup/freezer"
	if _, err := os.Stat(filepath.Join(freezer, "freezer.state")); err == nil {
		t.Skip("freezer is not a cgroup v1 hierarchy of its own here")
	}
	if _, err := os.Stat(filepath.Join(freezer, "cgroup.procs")); err != nil {
		t.Skip("no cgroup v1 freezer hierarchy")
	}
	cg := filepath.Join(freezer, "berth", id)
	if err := os.MkdirAll(cg, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Thaw whatever is left so it can die, then remove the group.
		_ = os.WriteFile(filepath.Join(cg, "freezer.state"), []byte("THAWED"), 0)
		_ = os.Remove(cg)
	})
	if err := os.WriteFile(filepath.Join(cg, "freezer.state"), []byte("FROZEN"), 0); err != nil {
		t.Fatal(err)
	}
	return cg
}

// startHung starts cmd, which creates a container in the frozen cgroup
// cg, and returns once create hangs there. The channel yields cmd's end.
func startHung(t *testing.T, cmd *exec.Cmd, cg string) chan error {
	t.Helper()
	out := tempFile(t)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		done <- <-done
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		procs, _ := os.ReadFile(filepath.Join(cg, "cgroup.procs"))
		if len(strings.TrimSpace(string(procs))) > 0 {
			return done
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("create finished in a frozen cgroup: %v: %s", err, readBack(t, out))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("create never placed a process in the container's cgroup")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRunSignalDuringCreate: a signal that reaches a foreground run while
// it creates the container is held and relayed once the container runs;
// it must not kill the runtime, which would leave the container behind.
func TestRunSignalDuringCreate(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sleep", "100")
	b.dropNamespace(specs.PIDNamespace) // so sleep dies of SIGTERM
	dir := b.save(t)
	id := e.id()
	cg := frozenCgroup(t, id)
	cmd := e.command("run", "--bundle", dir, id)
	done := startHung(t, cmd, cg)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if err := os.WriteFile(filepath.Join(cg, "freezer.state"), []byte("THAWED"), 0); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		done <- nil
	case <-time.After(10 * time.Second):
		t.Fatal("run did not end after SIGTERM")
	}
	if code := cmd.ProcessState.ExitCode(); code != 128+15 {
		t.Errorf("run: exit %d (%v), want 143", code, cmd.ProcessState)
	}
	e.assertNothingLeft(id, dir)
}

func TestRunDetached(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sleep", "60")
	dir := b.save(t)
	id := e.id()
	pidFile := filepath.Join(t.TempDir(), "init.pid")
	e.mustRun("run", "-d", "--pid-file", pidFile, "--bundle", dir, id)
	st := e.state(id)
	if st["status"] != "running" {
		t.Fatalf("after run -d: status %v", st["status"])
	}
	pid := e.pid(id)
	if got := readPidFile(t, pidFile); got != pid {
		t.Errorf("pid file %d, state pid %d", got, pid)
	}
	if cmd, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline")); string(cmd) != "sleep\x0060\x00" {
		t.Errorf("init runs %q", cmd)
	}
	if _, stderr, code := e.run("run", "-d", "--bundle", dir, id); code != 1 || !strings.Contains(stderr, "exists") {
		t.Errorf("run of an existing id: code %d, stderr %q", code, stderr)
	}
	if e.state(id)["status"] != "running" {
		t.Errorf("a failed run of the same id hurt the container")
	}
	e.mustRun("delete", "--force", id)
	waitProcessGone(t, pid)
	e.assertNothingLeft(id, dir)
}

func TestCreatePidFile(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sleep", "60")
	dir := b.save(t)
	// A relative --pid-file is relative to the caller's directory.
	cwd := t.TempDir()
	id := e.id()
	cmd := e.command("create", "--bundle", dir, "--pid-file", "init.pid", id)
	cmd.Dir = cwd
	// A file, not a pipe: the container's init keeps its stdio open.
	out := tempFile(t)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		t.Fatalf("create: %v: %s", err, readBack(t, out))
	}
	out.Close()
	if got, want := readPidFile(t, filepath.Join(cwd, "init.pid")), e.pid(id); got != want {
		t.Errorf("pid file %d, state pid %d", got, want)
	}
	e.mustRun("delete", id)
	e.assertNothingLeft(id, dir)
}

// trapScript records the signals it gets in /tmp/signals.
const trapScript = `for s in TERM USR1 HUP; do trap "echo $s >> /tmp/signals" $s; done
touch /tmp/ready
while :; do sleep 0.02; done`

func TestKillSignals(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sh", "-c", trapScript)
	rootfs := b.privateRootfs(t)
	id := e.startContainer(b)
	waitFile(t, filepath.Join(rootfs, "tmp/ready"), "")
	signals := filepath.Join(rootfs, "tmp/signals")

	e.mustRun("kill", id) // SIGTERM by default
	waitFile(t, signals, "TERM\n")
	e.mustRun("kill", id, "USR1")
	waitFile(t, signals, "TERM\nUSR1\n")
	e.mustRun("kill", id, "SIGHUP")
	waitFile(t, signals, "TERM\nUSR1\nHUP\n")
	e.mustRun("kill", id, "sigterm")
	waitFile(t, signals, "TERM\nUSR1\nHUP\nTERM\n")
	e.mustRun("kill", id, "10") // SIGUSR1 on x86 and arm
	waitFile(t, signals, "TERM\nUSR1\nHUP\nTERM\nUSR1\n")

	for _, bad := range []string{"NOSUCHSIG", "0", "65", "SIGNOPE"} {
		_, stderr, code := e.run("kill", id, bad)
		if code != 1 || !strings.Contains(stderr, "signal") {
			t.Errorf("kill %s: code %d, stderr %q", bad, code, stderr)
		}
	}
	if e.state(id)["status"] != "running" {
		t.Fatal("a bad kill hurt the container")
	}

	pid := e.pid(id)
	e.mustRun("kill", id, "9")
	e.waitStatus(id, "stopped")
	waitProcessGone(t, pid)
	_, stderr, code := e.run("kill", id, "TERM")
	if code != 1 || !strings.Contains(stderr, "not running") {
		t.Errorf("kill of a stopped container: code %d, stderr %q", code, stderr)
	}
	if _, stderr, code := e.run("kill", "no-such-container"); code != 1 || !strings.Contains(stderr, "does not exist") {
		t.Errorf("kill of a missing container: code %d, stderr %q", code, stderr)
	}
	e.mustRun("delete", id)
	e.assertNothingLeft(id, b.Dir)
}

// TestKillAll runs a container without its own pid namespace, so killing
// its init leaves the other processes: --all must reach each of them.
func TestKillAll(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sh", "-c", "sleep 1000 & sleep 1001 & wait")
	b.dropNamespace(specs.PIDNamespace)
	id := e.startContainer(b)
	pids := waitProcs(t, e, id, 3)

	e.mustRun("kill", "--all", id, "TERM")
	for _, p := range pids {
		waitProcessGone(t, p)
	}
	e.waitStatus(id, "stopped")
	e.mustRun("delete", id)
	e.assertNothingLeft(id, b.Dir)
}

// TestKillAllInPidNamespace: the init of a pid namespace ignores signals it
// has no handler for, its children do not.
func TestKillAllInPidNamespace(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sh", "-c", "sleep 1000 & sleep 1001 & wait; touch /tmp/children-gone; sleep 1002")
	rootfs := b.privateRootfs(t)
	id := e.startContainer(b)
	init := e.pid(id)
	pids := waitProcs(t, e, id, 3)

	e.mustRun("kill", "-a", id, "USR1")
	for _, p := range pids {
		if p != init {
			waitProcessGone(t, p)
		}
	}
	waitFile(t, filepath.Join(rootfs, "tmp/children-gone"), "")
	if !processRunning(init) || e.state(id)["status"] != "running" {
		t.Fatal("init of the pid namespace died of a signal it does not handle")
	}
	e.mustRun("delete", "--force", id)
	waitProcessGone(t, init)
	e.assertNothingLeft(id, b.Dir)
}

// TestDeleteStoppedKillsLeftovers: when the init of a container without a
// pid namespace exits, delete must still remove the processes it left in
// the container's cgroup.
func TestDeleteStoppedKillsLeftovers(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sh", "-c", "sleep 1000 & sleep 1001 & wait")
	b.dropNamespace(specs.PIDNamespace)
	id := e.startContainer(b)
	pids := waitProcs(t, e, id, 3)
	init := e.pid(id)
	e.mustRun("kill", id, "KILL")
	e.waitStatus(id, "stopped")
	e.mustRun("delete", id)
	for _, p := range pids {
		if p != init {
			waitProcessGone(t, p)
		}
	}
	e.assertNothingLeft(id, b.Dir)
}

// waitProcs waits until the container has n processes and returns them.
func waitProcs(t *testing.T, e *env, id string, n int) []int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids := e.psPids(id)
		if len(pids) == n {
			return pids
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s has processes %v, want %d", id, pids, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDeleteForceRunning(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sleep", "60")
	id := e.startContainer(b)
	pid := e.pid(id)
	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	e.mustRun("exec", "-d", "--pid-file", pidFile, id, "sleep", "61")
	execPid := readPidFile(t, pidFile)
	e.mustRun("delete", "--force", id)
	waitProcessGone(t, pid)
	waitProcessGone(t, execPid)
	e.assertNothingLeft(id, b.Dir)
	if _, stderr, code := e.run("state", id); code != 1 || !strings.Contains(stderr, "does not exist") {
		t.Errorf("state after delete: code %d, stderr %q", code, stderr)
	}
}

func TestDeleteMissing(t *testing.T) {
	e := newEnv(t)
	_, stderr, code := e.run("delete", "no-such-container")
	if code != 1 || !strings.Contains(stderr, "no-such-container") || !strings.Contains(stderr, "does not exist") {
		t.Errorf("delete of a missing container: code %d, stderr %q", code, stderr)
	}
	if _, stderr, code := e.run("delete", "--force", "no-such-container"); code != 0 {
		t.Errorf("delete --force of a missing container: code %d, stderr %q", code, stderr)
	}
	if _, stderr, code := e.run("state", "no-such-container"); code != 1 || !strings.Contains(stderr, "does not exist") {
		t.Errorf("state of a missing container: code %d, stderr %q", code, stderr)
	}
}

// TestRunForegroundSignals: a foreground run relays the signals it gets to
// the container and exits with the container's status.
func TestRunForegroundSignals(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sh", "-c", `trap "echo got TERM; exit 9" TERM; touch /tmp/ready; while :; do sleep 0.02; done`)
	rootfs := b.privateRootfs(t)
	dir := b.save(t)
	id := e.id()
	cmd := e.command("run", "--bundle", dir, id)
	out := tempFile(t)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	waitFile(t, filepath.Join(rootfs, "tmp/ready"), "")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("run did not exit after SIGTERM")
	}
	if code := cmd.ProcessState.ExitCode(); code != 9 {
		t.Errorf("run: exit %d (%v), want 9", code, cmd.ProcessState)
	}
	if got := readBack(t, out); got != "got TERM\n" {
		t.Errorf("output %q", got)
	}
	e.assertNothingLeft(id, dir)
}

func TestRunForegroundKilled(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sh", "-c", "kill -KILL $$")
	b.dropNamespace(specs.PIDNamespace) // a pid namespace's init cannot kill itself
	if _, stderr, code := e.runContainer(b); code != 128+9 {
		t.Errorf("run of a process killed by SIGKILL: exit %d, want 137 (stderr %q)", code, stderr)
	}
}

func TestRunForegroundStdin(t *testing.T) {
	e := newEnv(t)
	in := tempFile(t)
	if _, err := in.WriteString("line one\nline two\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	b := newBundle(t, "sh", "-c", "cat; echo done >&2")
	dir := b.save(t)
	id := e.id()
	out, stderr, code := e.runIn(in, "run", "--bundle", dir, id)
	if code != 0 || out != "line one\nline two\n" || stderr != "done\n" {
		t.Errorf("run with stdin: code %d, out %q, err %q", code, out, stderr)
	}
	e.assertNothingLeft(id, dir)
}

// TestDefaultBundle: without --bundle, the bundle is the current directory.
func TestDefaultBundle(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sleep", "60")
	dir := b.save(t)
	id := e.id()
	cmd := e.command("create", id)
	cmd.Dir = dir
	out := tempFile(t)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		t.Fatalf("create in the bundle: %v: %s", err, readBack(t, out))
	}
	out.Close()
	if st := e.state(id); st["bundle"] != dir {
		t.Errorf("bundle %v, want %s", st["bundle"], dir)
	}
	e.mustRun("delete", id)
	e.assertNothingLeft(id, dir)
}

func TestPsStopped(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sleep", "60")
	id := e.startContainer(b)
	e.mustRun("kill", id, "KILL")
	e.waitStatus(id, "stopped")
	if pids := e.psPids(id); len(pids) != 0 {
		t.Errorf("ps of a stopped container: %v", pids)
	}
	e.mustRun("delete", id)
	e.assertNothingLeft(id, b.Dir)
}

// TestKillAllStopped: once the init of a container without its own pid
// namespace has exited, kill --all still reaches the processes it left, as
// containerd expects of runc; without --all a stopped container cannot be
// signalled.
func TestKillAllStopped(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sh", "-c", "sleep 1000 & sleep 1001 & exit 0")
	b.dropNamespace(specs.PIDNamespace)
	id := e.create(b)
	e.mustRun("start", id)
	e.waitStatus(id, "stopped")
	left := waitProcs(t, e, id, 2)
	if _, stderr, code := e.run("kill", id, "KILL"); code != 1 || !strings.Contains(stderr, "not running") {
		t.Errorf("kill of a stopped container: code %d, stderr %q", code, stderr)
	}
	e.mustRun("kill", "--all", id, "KILL")
	for _, p := range left {
		waitProcessGone(t, p)
	}
	waitProcs(t, e, id, 0)
	if _, stderr, code := e.run("kill", "--all", id, "KILL"); code != 1 || !strings.Contains(stderr, "not running") {
		t.Errorf("kill --all of a stopped container with no process left: code %d, stderr %q", code, stderr)
	}
	e.mustRun("delete", id)
	e.assertNothingLeft(id, b.Dir)
}

// TestConfigEnvDuplicates: of several settings of one variable in
// process.env, the last wins, as in runc.
func TestConfigEnvDuplicates(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "env")
	b.Spec.Process.Env = []string{"PATH=/bin", "A=1", "B=x", "A=2"}
	out, stderr, code := e.runContainer(b)
	var ab []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "A=") || strings.HasPrefix(l, "B=") {
			ab = append(ab, l)
		}
	}
	if code != 0 || strings.Join(ab, " ") != "A=2 B=x" {
		t.Errorf("env: code %d, out %q, stderr %q", code, out, stderr)
	}
}

// TestKillCreated: a created container's init, which waits for start, can
// be signalled, and stops.
func TestKillCreated(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sleep", "60")
	id := e.create(b)
	pid := e.pid(id)
	e.mustRun("kill", id, "TERM")
	e.waitStatus(id, "stopped")
	waitProcessGone(t, pid)
	if _, stderr, code := e.run("start", id); code != 1 || !strings.Contains(stderr, "stopped") {
		t.Errorf("start after the init was killed: code %d, stderr %q", code, stderr)
	}
	e.mustRun("delete", id)
	e.assertNothingLeft(id, b.Dir)
}

// TestCreateNonRootUser: an init that has already become an unprivileged
// user must still be able to report through the exec fifo.
func TestCreateNonRootUser(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sh", "-c", "id -u; id -g")
	b.Spec.Process.User = specs.User{UID: 65534, GID: 65534}
	out, stderr, code := e.runContainer(b)
	if code != 0 || out != "65534\n65534\n" {
		t.Errorf("run as 65534: code %d, out %q, stderr %q", code, out, stderr)
	}
}

// TestRunGroupSignalledDuringCreate: SIGTERM to the whole process group of
// `run` (a shell's Ctrl-C, a service manager's stop) may reach the
// runtime's first init process between its fork into the pid namespace and
// the report of the child's pid. That once left run waiting forever on the
// init socket, holding the container's lock, with the container stuck in
// "creating". Now either the container starts (a signal that reached no
// program is lost, as with any runtime: pid 1 ignores it until it has a
// handler) and KILL ends it and run, or run fails and cleans up.
func TestRunGroupSignalledDuringCreate(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sleep", "100")
	dir := b.save(t)
	for i := 0; i < 40; i++ {
		id := e.id()
		cmd := e.command("run", "--bundle", dir, id)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		time.Sleep(time.Duration(i) * 500 * time.Microsecond)
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		ended := false
		for deadline := time.Now().Add(15 * time.Second); !ended; {
			select {
			case <-done:
				ended = true
				continue
			case <-time.After(50 * time.Millisecond):
			}
			if out, _, _ := e.run("state", id); strings.Contains(out, `"running"`) {
				e.run("kill", id, "KILL")
			}
			if time.Now().After(deadline) {
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-done
				out, _, _ := e.run("state", id)
				t.Fatalf("run (signalled after %v) did not end; state: %s", time.Duration(i)*500*time.Microsecond, out)
			}
		}
		if _, stderr, code := e.run("delete", "--force", id); code != 0 && !strings.Contains(stderr, "does not exist") {
			t.Errorf("delete --force %s: %s", id, stderr)
		}
		cgroupGone(t, id)
	}
}
