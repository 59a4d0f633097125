package engine

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"berth/engine/monitor"
)

// TestRefreshStarting: a container whose start is recorded but whose
// monitor has not yet written run.json is running while that monitor
// lives (a `ps` during another berth's start, or after that berth was
// killed, once showed it exited, 255), and exited, 255, once the monitor
// is gone too (a reboot). No root needed: the monitor is a stand-in.
func TestRefreshStarting(t *testing.T) {
	e := &Engine{root: t.TempDir()}
	id := "0123456789abcdef"
	c := &Container{ID: id, RunDir: t.TempDir()}
	if err := os.MkdirAll(e.dir(id), 0o700); err != nil {
		t.Fatal(err)
	}
	// monitorAlive knows a monitor by its command line.
	mon := &exec.Cmd{Path: "/bin/sleep", Args: []string{"berth-monitor-" + id, "100"}}
	if err := mon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = mon.Process.Kill()
		_ = mon.Wait()
	})
	if err := os.WriteFile(filepath.Join(c.RunDir, monitor.PidFile), []byte(strconv.Itoa(mon.Process.Pid)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// /proc/PID/cmdline is the new one only once sleep has been exec'd.
	for end := time.Now().Add(5 * time.Second); !e.monitorAlive(c); time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the stand-in monitor is not taken for one")
		}
	}
	state := func(s State) State {
		cc := *c
		cc.State = s
		e.refresh(&cc)
		return cc.State
	}
	if st := state(State{Status: StatusRunning, Pid: 42}); st.Status != StatusRunning || !st.Running || st.Pid != 0 || st.ExitCode != 0 {
		t.Errorf("starting, monitor alive: %+v, want running without a pid", st)
	}
	if st := state(State{Status: StatusCreated}); st.Status != StatusCreated || st.Running {
		t.Errorf("created, monitor alive: %+v, want created", st)
	}
	_ = mon.Process.Kill()
	_ = mon.Wait()
	if st := state(State{Status: StatusRunning}); st.Status != StatusExited || st.Running || st.ExitCode != 255 {
		t.Errorf("started, monitor gone, no run.json: %+v, want exited 255", st)
	}
}
