package engine

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"berth/engine/monitor"
)

// TestRemoverOfReusedPid: a monitor.pid naming a live process that is not
// the container's monitor (its pid reused) gives no remover, so `run
// --rm` does not wait for an unrelated process until its deadline.
func TestRemoverOfReusedPid(t *testing.T) {
	e := &Engine{root: t.TempDir()}
	id := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	c := &Container{ID: id, RunDir: filepath.Join(t.TempDir(), "containers", id)}
	if err := os.MkdirAll(e.runDir(c), 0o700); err != nil {
		t.Fatal(err)
	}
	if r := e.removerOf(c); r != nil {
		t.Errorf("no monitor.pid: remover %+v, want none", r)
	}
	other := exec.Command("sleep", "30")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Process.Kill(); _ = other.Wait() })
	pid := []byte(strconv.Itoa(other.Process.Pid))
	if err := os.WriteFile(filepath.Join(e.runDir(c), monitor.PidFile), pid, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := e.removerOf(c); r != nil {
		t.Errorf("monitor.pid naming %v: remover %+v, want none", other.Args, r)
	}
}
