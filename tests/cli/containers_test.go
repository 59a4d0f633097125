package cli_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestRunForeground(t *testing.T) {
	e := newEnv(t).withBusybox()
	out, stderr, code := e.run(nil, "run", "--rm", "busybox", "sh", "-c", "echo hello; echo oops >&2; exit 3")
	if code != 3 || out != "hello\n" || stderr != "oops\n" {
		t.Errorf("run: exit %d, stdout %q, stderr %q; want 3, hello, oops", code, out, stderr)
	}
	if got := e.must("ps", "-aq"); got != "" {
		t.Errorf("--rm left %q", got)
	}
	// stdin with -i.
	out, stderr, code = e.run([]byte("from stdin\n"), "run", "--rm", "-i", "busybox", "cat")
	if code != 0 || out != "from stdin\n" {
		t.Errorf("run -i cat: exit %d, %q %q", code, out, stderr)
	}
	// Docker's exit codes: 127 for a missing program, 125 for berth's own errors.
	if _, stderr, code := e.run(nil, "run", "--rm", "busybox", "/no/such/program"); code != 127 {
		t.Errorf("missing program: exit %d (%s), want 127", code, stderr)
	}
	e.fails(125, "no such image", "run", "--rm", "nosuchimage")
	e.fails(125, "--memory", "run", "--rm", "--memory", "12x", "busybox", "true")
}

func TestRunDetachedLifecycle(t *testing.T) {
	e := newEnv(t).withBusybox()
	id := strings.TrimSpace(e.must("run", "-d", "--name", "web", "busybox", "sh", "-c", "echo started; trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done"))
	if len(id) != 64 {
		t.Fatalf("run -d printed %q, want an ID", id)
	}
	ps := e.must("ps")
	if !strings.Contains(ps, id[:12]) || !strings.Contains(ps, "Up ") || !strings.Contains(ps, "web") {
		t.Errorf("ps:\n%s", ps)
	}
	e.fails(125, "already in use", "run", "-d", "--name", "web", "busybox", "true")
	e.fails(1, "stop the container before attempting removal", "rm", "web")
	waitFor(t, func() bool { return strings.Contains(e.must("logs", "web"), "started") }, "the log shows started")
	if got := e.must("exec", "web", "cat", "/proc/1/cmdline"); !strings.HasPrefix(got, "sh") {
		t.Errorf("exec: %q", got)
	}
	// run -d's runtime got its go-ahead on a descriptor of its own; the
	// container's process has its stdio only.
	if got := strings.Join(strings.Fields(e.must("exec", "web", "ls", "/proc/1/fd")), " "); got != "0 1 2" {
		t.Errorf("descriptors of the container's process: %q, want 0 1 2", got)
	}
	if _, _, code := e.run(nil, "exec", "web", "sh", "-c", "exit 7"); code != 7 {
		t.Errorf("exec exit code %d, want 7", code)
	}
	var insp []map[string]any
	if err := json.Unmarshal([]byte(e.must("inspect", "web")), &insp); err != nil || len(insp) != 1 {
		t.Fatalf("inspect: %v", err)
	}
	state := insp[0]["State"].(map[string]any)
	if state["Status"] != "running" || state["Running"] != true || insp[0]["Name"] != "/web" {
		t.Errorf("inspect state %v name %v", state, insp[0]["Name"])
	}
	if got := strings.TrimSpace(e.must("inspect", "--format", "{{.State.Status}} {{.Name}}", "web")); got != "running /web" {
		t.Errorf("inspect --format: %q", got)
	}
	e.must("pause", "web")
	if got := e.must("ps", "--format", "{{.Status}}"); !strings.Contains(got, "(Paused)") {
		t.Errorf("ps after pause: %q", got)
	}
	e.must("unpause", "web")
	e.must("rename", "web", "web2")
	e.must("stop", "web2")
	if logs := e.must("logs", "web2"); !strings.Contains(logs, "bye") {
		t.Errorf("the stop signal did not reach the container's handler: %q", logs)
	}
	if got := e.must("ps", "-a", "--format", "{{.Names}} {{.Status}}"); !strings.HasPrefix(got, "web2 Exited (0)") {
		t.Errorf("ps -a after stop: %q", got)
	}
	if got := strings.TrimSpace(e.must("wait", "web2")); got != "0" {
		t.Errorf("wait: %q", got)
	}
	// Start again: a new process, the log appended.
	e.must("start", "web2")
	waitFor(t, func() bool { return strings.Count(e.must("logs", "web2"), "started") == 2 }, "a second start in the log")
	e.must("rm", "-f", "web2")
	if got := e.must("ps", "-aq"); got != "" {
		t.Errorf("ps after rm: %q", got)
	}
	assertNoLeftovers(t, e, id)
}

func TestRestartPolicyAndKilledMonitor(t *testing.T) {
	e := newEnv(t).withBusybox()
	e.must("run", "-d", "--name", "flaky", "--restart", "on-failure:2", "busybox", "sh", "-c", "echo run; exit 1")
	waitFor(t, func() bool {
		return strings.TrimSpace(e.must("inspect", "--format", "{{.State.Status}} {{.RestartCount}}", "flaky")) == "exited 2"
	}, "two restarts then exited")
	if n := strings.Count(e.must("logs", "flaky"), "run"); n != 3 {
		t.Errorf("the container ran %d times, want 3", n)
	}
	// Kill -9 of a monitor: the container shows as exited, rm cleans up.
	id := strings.TrimSpace(e.must("run", "-d", "busybox", "sleep", "100"))
	pidb, err := os.ReadFile(monitorPidFile(id))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(pidb)))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		return !strings.Contains(e.must("inspect", "--format", "{{.State.Error}}", id), "<no value>") &&
			strings.Contains(e.must("inspect", "--format", "{{.State.Error}}", id), "monitor")
	}, "inspect reports the monitor gone")
	e.must("rm", "-f", id)
	assertNoLeftovers(t, e, id)
}

func TestParallelRunAndRemove(t *testing.T) {
	e := newEnv(t).withBusybox()
	const n = 10
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			out, stderr, code := e.run(nil, "run", "-d", "busybox", "sleep", "100")
			if code != 0 {
				errs <- fmt.Errorf("run -d: %s", stderr)
				return
			}
			ids[i] = strings.TrimSpace(out)
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := len(strings.Fields(e.must("ps", "-q"))); got != n {
		t.Errorf("ps shows %d running, want %d", got, n)
	}
	errs = make(chan error, n)
	for _, id := range ids {
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			if _, stderr, code := e.run(nil, "rm", "-f", id); code != 0 {
				errs <- fmt.Errorf("rm -f: %s", stderr)
			}
		}(id)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, id := range ids {
		assertNoLeftovers(t, e, id)
	}
}

func TestCommitDiffExport(t *testing.T) {
	e := newEnv(t).withBusybox()
	e.must("run", "--name", "c1", "busybox", "sh", "-c", "echo data > /hello; rm /bin/vi")
	diff := e.must("diff", "c1")
	for _, want := range []string{"A /hello", "D /bin/vi", "C /bin"} {
		if !strings.Contains(diff, want) {
			t.Errorf("diff lacks %q:\n%s", want, diff)
		}
	}
	e.must("commit", "-m", "a test", "c1", "committed:1")
	if out, _, code := e.run(nil, "run", "--rm", "committed:1", "cat", "/hello"); code != 0 || out != "data\n" {
		t.Errorf("run of the committed image: %d %q", code, out)
	}
	tarPath := filepath.Join(t.TempDir(), "fs.tar")
	e.must("export", "-o", tarPath, "c1")
	if st, err := os.Stat(tarPath); err != nil || st.Size() < 1<<20 {
		t.Errorf("export: %v %v", st, err)
	}
}

// waitFor polls cond for up to 20 s.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for: %s", what)
}

// assertNoLeftovers checks that nothing of container id remains: its
// directory, mounts, cgroups.
func assertNoLeftovers(t *testing.T, e *env, id string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(e.root, "containers", id)); !os.IsNotExist(err) {
		t.Errorf("container directory left: %v", err)
	}
	if mi, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mi), id) {
		t.Errorf("mounts of %s left", id)
	}
	for _, pattern := range []string{"/sys/fs/cgroup/*/berth/" + id, "/sys/fs/cgroup/berth/" + id} {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			t.Errorf("cgroups left: %v", m)
		}
	}
}

// TestInit: --init puts berth-init at PID 1, which forwards the stop
// signal to a program that, as PID 1, would ignore it.
func TestInit(t *testing.T) {
	e := newEnv(t).withBusybox()
	if out := e.must("run", "--rm", "--init", "busybox", "cat", "/proc/1/cmdline"); !strings.Contains(out, "berth-init") {
		t.Errorf("PID 1 with --init: %q", out)
	}
	e.must("run", "-d", "--name", "withinit", "--init", "busybox", "sleep", "100")
	start := time.Now()
	e.must("stop", "-t", "5", "withinit")
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("stop took %v: the signal did not reach sleep", d)
	}
	if got := strings.TrimSpace(e.must("inspect", "-f", "{{.State.ExitCode}}", "withinit")); got != "143" {
		t.Errorf("exit code %s, want 143 (SIGTERM)", got)
	}
	// A signal sent the moment run -d returns is not lost: berth-init
	// blocks every signal from its start (a PID 1 drops one it has no
	// handler for), so sleep ends by it, not after its 5 s.
	for i := 0; i < 10; i++ {
		id := strings.TrimSpace(e.must("run", "-d", "--init", "busybox", "sleep", "5"))
		e.must("kill", "-s", "TERM", id)
		if got := strings.TrimSpace(e.must("wait", id)); got != "143" {
			t.Errorf("round %d: exit code %s after a TERM right after the start, want 143", i, got)
		}
		e.must("rm", id)
	}
	// Exit codes: the command's own, 127 when it does not exist.
	if _, _, code := e.run(nil, "run", "--rm", "--init", "busybox", "sh", "-c", "exit 7"); code != 7 {
		t.Errorf("run --init exit 7: %d", code)
	}
	if _, stderr, code := e.run(nil, "run", "--rm", "--init", "busybox", "nosuch"); code != 127 || !strings.Contains(stderr, "berth-init: exec nosuch") {
		t.Errorf("run --init nosuch: exit %d, %q", code, stderr)
	}
}

// TestRunTerminal: run -t gives the container a terminal.
func TestRunTerminal(t *testing.T) {
	e := newEnv(t).withBusybox()
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("script(1) is needed")
	}
	cmd := exec.Command("script", "-qec", binary+" --root "+e.root+" run -t --rm --network none busybox sh -c 'tty; exit 5'", "/dev/null")
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 5 || !strings.Contains(string(out), "/dev/pts/") {
		t.Errorf("run -t: exit %d (%v), output %q", code, err, out)
	}
}

// TestCp: files both ways, and a symlink in the container that points
// out of it resolves inside it.
func TestCp(t *testing.T) {
	e := newEnv(t).withBusybox()
	e.must("run", "-d", "--name", "cpt", "busybox", "sh", "-c", "ln -s / /evil; echo inside > /etc/marker; sleep 100")
	host := t.TempDir()
	in := filepath.Join(host, "in.txt")
	if err := os.WriteFile(in, []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.must("cp", in, "cpt:/tmp/")
	if got := e.must("exec", "cpt", "cat", "/tmp/in.txt"); got != "from the host\n" {
		t.Errorf("cp in: %q", got)
	}
	waitFor(t, func() bool { _, _, code := e.run(nil, "exec", "cpt", "test", "-e", "/etc/marker"); return code == 0 }, "the marker")
	// /evil -> / is the container's root, not the host's.
	out := filepath.Join(host, "marker")
	e.must("cp", "cpt:/evil/etc/marker", out)
	if b, err := os.ReadFile(out); err != nil || string(b) != "inside\n" {
		t.Errorf("cp through /evil: %q %v", b, err)
	}
	e.fails(1, "No such container:path", "cp", "cpt:/nope", host)
}

// TestStatsUpdateInfo: stats shows a running container, update changes
// its memory limit, version and info answer, attach relays its output.
func TestStatsUpdateInfo(t *testing.T) {
	e := newEnv(t).withBusybox()
	e.must("run", "-d", "--name", "busy", "busybox", "sh", "-c", "while :; do echo tick; sleep 0.2; done")
	if out := e.must("stats", "--no-stream"); !strings.Contains(out, "busy") || !strings.Contains(out, "MEM USAGE / LIMIT") {
		t.Errorf("stats:\n%s", out)
	}
	e.must("update", "--memory", "64m", "busy")
	if out := e.must("stats", "--no-stream", "busy"); !strings.Contains(out, "/ 67.11MB") {
		t.Errorf("stats after update --memory 64m:\n%s", out)
	}
	if out := e.must("version"); !strings.Contains(out, "Version:") {
		t.Errorf("version: %q", out)
	}
	if out := e.must("info"); !strings.Contains(out, "Running:       1") && !strings.Contains(out, "Running: 1") {
		t.Errorf("info:\n%s", out)
	}
	// The cgroup v2 guest (scripts/vm/run-v2.sh -e) runs this test too.
	cg := "1"
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		cg = "2"
	}
	if out := e.must("info"); !regexp.MustCompile(`Cgroup Version: +` + cg + `\n`).MatchString(out) {
		t.Errorf("info, want cgroup version %s:\n%s", cg, out)
	}
	// attach gets the output until the container ends.
	cmd := exec.Command(binary, "--root", e.root, "attach", "--no-stdin", "busy")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		got <- line
	}()
	select {
	case line := <-got:
		if line != "tick\n" {
			t.Errorf("attach printed %q", line)
		}
	case <-time.After(20 * time.Second):
		t.Error("attach printed nothing in 20 s")
	}
	e.must("kill", "busy")
	_ = cmd.Wait()
	e.fails(1, "no public port", "port", "busy", "80")
}

// TestVolumes: a named volume keeps data across containers, is filled
// from the image on first use, cannot be removed while used; anonymous
// volumes go with --rm.
func TestVolumes(t *testing.T) {
	e := newEnv(t).withBusybox()
	e.must("volume", "create", "data")
	e.must("run", "--rm", "-v", "data:/data", "busybox", "sh", "-c", "echo persisted > /data/f")
	if got := e.must("run", "--rm", "-v", "data:/data", "busybox", "cat", "/data/f"); got != "persisted\n" {
		t.Errorf("the volume lost its data: %q", got)
	}
	// A new volume over an image directory starts with its content.
	if got := e.must("run", "--rm", "--mount", "type=volume,source=bins,target=/bin", "busybox", "ls", "/bin/busybox"); got != "/bin/busybox\n" {
		t.Errorf("volume not filled from the image: %q", got)
	}
	e.must("run", "-d", "--name", "user", "-v", "data:/data", "busybox", "sleep", "100")
	e.fails(1, "in use", "volume", "rm", "data")
	e.must("rm", "-f", "user")
	e.must("volume", "rm", "data", "bins")
	// Anonymous: made for -v /path, removed with the container by --rm.
	e.must("run", "--rm", "-v", "/scratch", "busybox", "touch", "/scratch/x")
	if got := e.must("volume", "ls", "-q"); got != "" {
		t.Errorf("volumes left: %q", got)
	}
}

// TestRunKilled: kill -9 of `berth run -d` at any point leaves either a
// running container (ps shows it) or none, and nothing of a half-made
// one: no mounts, no directory.
func TestRunKilled(t *testing.T) {
	e := newEnv(t).withBusybox()
	for i := 0; i < 12; i++ {
		cmd := exec.Command(binary, "--root", e.root, "run", "-d", "--network", "none", "busybox", "sleep", "100")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(i) * 8 * time.Millisecond)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		for _, line := range strings.Split(strings.TrimSpace(e.must("ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.State}}")), "\n") {
			if line == "" {
				continue
			}
			f := strings.Fields(line)
			if f[1] != "running" {
				t.Errorf("after kill -9 at %d ms: container %s is %s", i*8, f[0][:12], f[1])
			}
			e.must("rm", "-f", f[0])
		}
		ents, _ := os.ReadDir(filepath.Join(e.root, "containers"))
		for _, ent := range ents {
			if !strings.HasPrefix(ent.Name(), ".") {
				t.Errorf("after kill -9 at %d ms: container directory %s left", i*8, ent.Name())
			}
		}
		if mi, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mi), filepath.Join(e.root, "containers")) {
			t.Errorf("after kill -9 at %d ms: a rootfs is still mounted", i*8)
		}
	}
}

// TestPsDuringRun: `ps` while other commands start containers shows each
// as created (while run creates it) or running, never exited: the start
// is recorded before the monitor has written the container's pid, and a
// ps in between once showed it exited, 255 (as did TestRunKilled's ps
// after a kill there).
func TestPsDuringRun(t *testing.T) {
	e := newEnv(t).withBusybox()
	done, finished := make(chan error, 1), make(chan struct{})
	// Should the test end early, its env's cleanup must wait for the last
	// start, or that container outlives it.
	t.Cleanup(func() { <-finished })
	go func() {
		defer close(finished)
		for i := 0; i < 15; i++ {
			out, err := exec.Command(binary, "--root", e.root, "run", "-d", "--network", "none", "busybox", "sleep", "100").CombinedOutput()
			if err != nil {
				done <- fmt.Errorf("run -d: %v: %s", err, out)
				return
			}
		}
		done <- nil
	}()
	seen := map[string]bool{}
	for polling := true; polling; {
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
			polling = false
		default:
		}
		for _, line := range strings.Split(strings.TrimSpace(e.must("ps", "-a", "--format", "{{.ID}} {{.State}} {{.Status}}")), "\n") {
			if f := strings.Fields(line); len(f) > 1 {
				seen[f[1]] = true
				if f[1] != "created" && f[1] != "running" {
					t.Errorf("during the starts: %s", line)
				}
			}
		}
	}
	if !seen["running"] {
		t.Errorf("ps saw no container running: %v", seen)
	}
	for _, id := range strings.Fields(e.must("ps", "-aq")) {
		e.must("rm", "-f", id)
	}
}

// TestRunSignalProxy: a signal to `berth run` reaches the container, as
// Docker's --sig-proxy, and run exits with the container's status.
func TestRunSignalProxy(t *testing.T) {
	e := newEnv(t).withBusybox()
	cmd := exec.Command(binary, "--root", e.root, "run", "--rm", "--init", "--network", "none", "busybox", "sh", "-c", "echo ready; sleep 100")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := io.ReadFull(out, buf); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("run did not end after SIGTERM")
	}
	if code := cmd.ProcessState.ExitCode(); code != 143 {
		t.Errorf("run exited %d, want 143 (the container's SIGTERM)", code)
	}
}
