package runtime_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// create saves b, creates a container from it and returns its id.
func (e *env) create(b *bundle, flags ...string) string {
	e.t.Helper()
	id := e.id()
	args := append([]string{"create", "--bundle", b.save(e.t)}, flags...)
	e.mustRun(append(args, id)...)
	return id
}

// startContainer creates and starts b and waits until it runs.
func (e *env) startContainer(b *bundle) string {
	e.t.Helper()
	id := e.create(b)
	e.mustRun("start", id)
	e.waitStatus(id, "running")
	return id
}

// pid returns the host pid of a created or running container's init.
func (e *env) pid(id string) int {
	e.t.Helper()
	st := e.state(id)
	p, _ := st["pid"].(float64)
	if p <= 0 {
		e.t.Fatalf("container %s: no pid in state %v", id, st)
	}
	return int(p)
}

// psPids returns `ps --format json` of a container.
func (e *env) psPids(id string) []int {
	e.t.Helper()
	out := e.mustRun("ps", "--format", "json", id)
	var pids []int
	if err := json.Unmarshal([]byte(out), &pids); err != nil {
		e.t.Fatalf("ps --format json: %v: %q", err, out)
	}
	return pids
}

// listIDs returns the ids `list -q` prints.
func (e *env) listIDs() []string {
	e.t.Helper()
	return strings.Fields(e.mustRun("list", "-q"))
}

// readPidFile reads a pid written by --pid-file.
func readPidFile(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		t.Fatalf("pid file %s holds %q", path, b)
	}
	return pid
}

// waitProcessGone waits until pid has exited.
func waitProcessGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for processRunning(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still running", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitFile waits until path exists and holds want (a substring) and returns
// its content.
func waitFile(t *testing.T, path, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil && strings.Contains(string(b), want) {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %q does not contain %q", path, b, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hostCgroups returns /proc/<pid>/cgroup.
func hostCgroups(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatalf("cgroups of %d: %v", pid, err)
	}
	return string(b)
}

// initProcessesIn returns the pids of `berth-runtime init` processes whose
// working directory is dir (a create's init starts in its bundle).
func initProcessesIn(dir string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || (string(cmd) != "berth-runtime\x00init\x00" && string(cmd) != "berth-runtime-init\x00") {
			continue
		}
		cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
		if err == nil && cwd == dir && processRunning(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// assertNothingLeft checks that container id of bundle dir left no state
// directory, cgroup, list entry or init process.
func (e *env) assertNothingLeft(id, dir string) {
	e.t.Helper()
	if _, err := os.Lstat(filepath.Join(e.root, id)); !os.IsNotExist(err) {
		e.t.Errorf("state directory of %s left behind (%v)", id, err)
	}
	cgroupGone(e.t, id)
	if ids := e.listIDs(); len(ids) != 0 {
		e.t.Errorf("list -q: %v left behind", ids)
	}
	if dir != "" {
		if pids := initProcessesIn(dir); len(pids) > 0 {
			e.t.Errorf("init processes %v of bundle %s left behind", pids, dir)
		}
	}
}

func TestListFormats(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sleep", "60")
	created := e.create(b)
	running := e.startContainer(newBundle(t, "sleep", "60"))

	// -q: ids only, sorted.
	if ids, want := e.listIDs(), []string{created, running}; !slices.Equal(ids, sortedCopy(want)) {
		t.Errorf("list -q: %v, want %v", ids, sortedCopy(want))
	}

	// table: a header and one row per container.
	out := e.mustRun("list")
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("list: want header and 2 rows, got %q", out)
	}
	if h := strings.Fields(lines[0]); !slices.Equal(h, []string{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}) {
		t.Errorf("list header %q", lines[0])
	}
	rows := map[string][]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		rows[f[0]] = f
	}
	for id, status := range map[string]string{created: "created", running: "running"} {
		f := rows[id]
		if len(f) != 6 {
			t.Errorf("list row of %s: %q", id, f)
			continue
		}
		if f[1] != strconv.Itoa(e.pid(id)) || f[2] != status || f[3] != e.state(id)["bundle"] || f[5] != "root" {
			t.Errorf("list row of %s: %q, want pid %d status %s", id, f, e.pid(id), status)
		}
		if _, err := time.Parse(time.RFC3339Nano, f[4]); err != nil {
			t.Errorf("list row of %s: created %q: %v", id, f[4], err)
		}
	}

	// json: the OCI state of each.
	var list []map[string]any
	out = e.mustRun("list", "--format", "json")
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("list --format json: %v: %q", err, out)
	}
	if len(list) != 2 {
		t.Fatalf("list --format json: %d entries: %q", len(list), out)
	}
	for _, st := range list {
		id, _ := st["id"].(string)
		want := map[string]string{created: "created", running: "running"}[id]
		if want == "" || st["status"] != want || int(st["pid"].(float64)) != e.pid(id) || st["bundle"] != b.Dir && id == created {
			t.Errorf("list --format json entry %v", st)
		}
	}
	if _, stderr, code := e.run("list", "--format", "yaml"); code != 1 || !strings.Contains(stderr, "--format") {
		t.Errorf("list --format yaml: code %d, stderr %q", code, stderr)
	}

	// An empty root lists nothing, in every format.
	empty := &env{t: t, root: filepath.Join(t.TempDir(), "none")}
	if out := empty.mustRun("list", "--format", "json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("empty list --format json: %q", out)
	}
	if out := empty.mustRun("list", "-q"); out != "" {
		t.Errorf("empty list -q: %q", out)
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

func TestPsHostPids(t *testing.T) {
	e := newEnv(t)
	id := e.startContainer(newBundle(t, "sleep", "60"))
	init := e.pid(id)
	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	e.mustRun("exec", "-d", "--pid-file", pidFile, id, "sleep", "61")
	execPid := readPidFile(t, pidFile)

	pids := e.psPids(id)
	slices.Sort(pids)
	want := []int{init, execPid}
	slices.Sort(want)
	if !slices.Equal(pids, want) {
		t.Fatalf("ps --format json: %v, want init %d and exec %d", pids, init, execPid)
	}
	// The exec'd process is the host's view of sleep 61.
	if cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", execPid)); string(cmd) != "sleep\x0061\x00" {
		t.Errorf("exec pid %d runs %q", execPid, cmd)
	}

	// The table is ps -ef's, restricted to the container's processes.
	out := e.mustRun("ps", id)
	sc := bufio.NewScanner(strings.NewReader(out))
	var header []string
	seen := map[int]bool{}
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if header == nil {
			header = f
			continue
		}
		col := slices.Index(header, "PID")
		if col < 0 || col >= len(f) {
			t.Fatalf("ps table: no PID column: %q", out)
		}
		p, _ := strconv.Atoi(f[col])
		seen[p] = true
	}
	if len(seen) != 2 || !seen[init] || !seen[execPid] {
		t.Errorf("ps table lists %v, want %v:\n%s", seen, want, out)
	}
	// ps options go to ps(1).
	if out := e.mustRun("ps", id, "-o", "pid,comm"); !strings.Contains(out, "sleep") {
		t.Errorf("ps -o pid,comm: %q", out)
	}
	if _, stderr, code := e.run("ps", "--format", "xml", id); code != 1 || !strings.Contains(stderr, "--format") {
		t.Errorf("ps --format xml: code %d, stderr %q", code, stderr)
	}
	if _, stderr, code := e.run("ps", "no-such-container"); code != 1 || !strings.Contains(stderr, "does not exist") {
		t.Errorf("ps of missing container: code %d, stderr %q", code, stderr)
	}
}

func TestLogJSONOnFailingCreate(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "no-such-program")
	dir := b.save(t)
	id := e.id()
	logPath := filepath.Join(t.TempDir(), "log.json")
	_, stderr, code := e.run("--log", logPath, "--log-format", "json", "create", "--bundle", dir, id)
	if code != 1 {
		t.Fatalf("create: exit %d, want 1 (stderr %q)", code, stderr)
	}
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if rec["level"] == "error" {
			msg, _ := rec["msg"].(string)
			if !strings.Contains(msg, "no-such-program") {
				t.Errorf("error log message %q does not name the program", msg)
			}
			if _, ok := rec["time"]; !ok {
				t.Errorf("error log line without time: %q", line)
			}
			found = true
		}
	}
	if !found {
		t.Fatalf("no \"level\":\"error\" line in %q", data)
	}
	e.assertNothingLeft(id, dir)

	// Text logs name the level too; a bad --log-format is refused.
	textLog := filepath.Join(t.TempDir(), "log.txt")
	if _, _, code := e.run("--log", textLog, "create", "--bundle", dir, e.id()); code != 1 {
		t.Fatalf("create: exit %d, want 1", code)
	}
	if b, _ := os.ReadFile(textLog); !strings.Contains(string(b), "level=error") || !strings.Contains(string(b), "no-such-program") {
		t.Errorf("text log %q", b)
	}
	if _, stderr, code := e.run("--log-format", "xml", "list"); code != 1 || !strings.Contains(stderr, "--log-format") {
		t.Errorf("--log-format xml: code %d, stderr %q", code, stderr)
	}
}

func TestSpecCommand(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	e.mustRun("spec", "--bundle", dir)
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("spec wrote invalid JSON: %v", err)
	}
	if _, stderr, code := e.run("spec", "--bundle", dir); code != 1 || !strings.Contains(stderr, "exists") {
		t.Errorf("second spec: code %d, stderr %q", code, stderr)
	}
}
