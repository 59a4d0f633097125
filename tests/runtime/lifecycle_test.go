package runtime_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
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
