package engine

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"berth/engine/monitor"
)

// refresh derives the container's state from its monitor's files, so it
// is right whichever berth command (or none) saw it change.
func (e *Engine) refresh(c *Container) {
	var run monitor.Run
	var exit monitor.Exit
	haveRun := monitor.ReadJSON(e.runDir(c), monitor.RunFile, &run) == nil
	haveExit := monitor.ReadJSON(e.dir(c.ID), monitor.ExitFile, &exit) == nil
	st := &c.State
	paused := st.Paused
	if haveRun {
		st.Pid, st.StartedAt = run.Pid, run.StartedAt
		c.RestartCount = run.RestartCount
	}
	switch {
	case haveExit && (!haveRun || !exit.FinishedAt.Before(run.StartedAt)):
		st.ExitCode, st.FinishedAt, st.OOMKilled, st.Error = exit.ExitCode, exit.FinishedAt, exit.OOMKilled, exit.Error
		st.Pid, st.Running, st.Paused = 0, false, false
		if !exit.Final && e.monitorAlive(c) {
			st.Status, st.Restarting = StatusRestarting, true
		} else {
			st.Status, st.Restarting = StatusExited, false
		}
	case haveRun && e.containerAlive(c.ID, run.Pid):
		st.Running, st.Restarting = true, false
		st.Status = StatusRunning
		if paused {
			st.Status = StatusPaused
		}
		if !e.monitorAlive(c) {
			// The monitor was killed: nobody reaps or logs the container,
			// which berth treats as gone (rm kills what is left).
			st.Error = "the container's monitor is gone"
		}
	case haveRun && e.monitorAlive(c):
		// Exited a moment ago: the monitor is recording it.
		st.Running, st.Restarting = true, false
		st.Status = StatusRunning
	case haveRun:
		// Exited, but the monitor did not record it: it died first.
		st.Status, st.Running, st.Paused, st.Restarting = StatusExited, false, false, false
		st.Pid, st.ExitCode = 0, 137
		if st.Error == "" {
			st.Error = "the container's monitor is gone; exit status unknown"
		}
	case st.Status == "" || st.Status == StatusCreated:
		st.Status = StatusCreated
	case e.monitorAlive(c):
		// Started (the go-ahead is given, Start recorded it) and its
		// monitor is starting it: running from the moment the start was
		// committed, as Start reports it, until the monitor writes
		// run.json (with the pid) or exit.json (a failed start). Also
		// when the berth that started it was killed meanwhile.
		st.Status, st.Running, st.Restarting = StatusRunning, true, false
		st.Pid = 0
	default:
		// Started (Start recorded it), but neither running nor exited:
		// its run directory went, with the tmpfs, in a reboot while it
		// ran. Docker shows such a container as exited, 255.
		st.Status, st.Running, st.Paused, st.Restarting = StatusExited, false, false, false
		st.Pid, st.ExitCode = 0, 255
		if st.Error == "" {
			st.Error = "the container's monitor and run directory are gone (a reboot?); exit status unknown"
		}
	}
}

// containerAlive tells whether pid is still the container's process: it
// exists, is not a zombie, and is in the container's cgroup.
func (e *Engine) containerAlive(id string, pid int) bool {
	if pid <= 0 {
		return false
	}
	p := "/proc/" + strconv.Itoa(pid)
	stat, err := os.ReadFile(p + "/stat")
	if err != nil {
		return false
	}
	if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return false
	}
	cg, err := os.ReadFile(p + "/cgroup")
	return err == nil && strings.Contains(string(cg), "/berth/"+id)
}

// monitorAlive tells whether the container's monitor runs.
func (e *Engine) monitorAlive(c *Container) bool {
	b, err := os.ReadFile(filepath.Join(e.runDir(c), monitor.PidFile))
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return false
	}
	cmd, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err == nil && bytes.Contains(cmd, []byte("berth-monitor")) && bytes.Contains(cmd, []byte(c.ID))
}

// self returns this process as a ProcessRef.
func self() *ProcessRef {
	pid := os.Getpid()
	return &ProcessRef{Pid: pid, Start: startTime(pid)}
}

// alive tells whether the process still runs (the same one: same start
// time).
func (p *ProcessRef) alive() bool {
	st := startTime(p.Pid)
	return st != 0 && st == p.Start
}

// startTime is field 22 of /proc/<pid>/stat, 0 when the process is gone.
func startTime(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0
	}
	v, _ := strconv.ParseUint(f[19], 10, 64)
	return v
}
