package cli_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// monitorsOf lists the pids of berth-monitor processes of root.
func monitorsOf(root string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		comm, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "comm"))
		if err != nil || strings.TrimSpace(string(comm)) != "berth-monitor" {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if strings.Contains(string(cmdline), root+"/") {
			out = append(out, ent.Name())
		}
	}
	return out
}

// containerDirs lists the container directories under root.
func containerDirs(root string) []string {
	var out []string
	ents, _ := os.ReadDir(filepath.Join(root, "containers"))
	for _, ent := range ents {
		if !strings.HasPrefix(ent.Name(), ".") {
			out = append(out, ent.Name())
		}
	}
	return out
}

// TestRunRmRemovesInProcess: a foreground `run --rm` removes its container
// itself (engine/selfremove.go): when it returns, the record, directory,
// mount and monitor are all gone, and the events end with die, destroy.
func TestRunRmRemovesInProcess(t *testing.T) {
	e := newEnv(t).withBusybox()
	since := unixNow()
	for i := 0; i < 3; i++ {
		out, stderr, code := e.run(nil, "run", "--rm", "--network", "none", "busybox", "sh", "-c", "echo ran; hostname; exit 4")
		ran, host, _ := strings.Cut(out, "\n")
		host = strings.TrimSpace(host)
		if code != 4 || ran != "ran" || len(host) != 12 {
			t.Fatalf("run --rm: exit %d, stdout %q, stderr %q; want 4, ran and the hostname", code, out, stderr)
		}
		if got := e.must("ps", "-aq"); got != "" {
			t.Errorf("run %d: ps -aq after run --rm: %q", i, got)
		}
		if d := containerDirs(e.root); len(d) != 0 {
			t.Errorf("run %d: container directories left: %v", i, d)
		}
		// The runtime's state (and with it the container's cgroup) is gone
		// too: the monitor had the runtime delete it. The hostname is the
		// container ID's first 12 characters.
		ents, _ := os.ReadDir(filepath.Join(os.Getenv("BERTH_RUNROOT"), "runtime"))
		for _, ent := range ents {
			if strings.HasPrefix(ent.Name(), host) {
				t.Errorf("run %d: runtime state %s left", i, ent.Name())
			}
		}
		if m := monitorsOf(e.root); len(m) != 0 {
			t.Errorf("run %d: monitors still running after run --rm returned: %v", i, m)
		}
		if mi, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mi), filepath.Join(e.root, "containers")) {
			t.Errorf("run %d: a rootfs is still mounted", i)
		}
	}
	got := actions(t, e.must("events", "--since", since, "--until", unixNow()))
	if len(got) < 2 || got[len(got)-2] != "die" || got[len(got)-1] != "destroy" {
		t.Errorf("events end with %v, want ... die destroy", got)
	}
}

// TestRunRmKilled: a foreground `run --rm` killed while its container runs
// leaves the removal to the monitor's exit command: once the container
// exits it is gone, monitor included.
func TestRunRmKilled(t *testing.T) {
	e := newEnv(t).withBusybox()
	cmd := exec.Command(binary, "--root", e.root, "run", "--rm", "--network", "none", "busybox", "sh", "-c", "echo up; sleep 1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// run prints the container's output once the container is started
	// and recorded as such: kill it then.
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "up\n" {
		t.Fatalf("run's output: %q, %v", line, err)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if got := strings.TrimSpace(e.must("ps", "-q")); got == "" {
		t.Fatal("the container went with the killed run; it should run until it exits")
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		ps := strings.TrimSpace(e.must("ps", "-aq"))
		if ps == "" && len(containerDirs(e.root)) == 0 && len(monitorsOf(e.root)) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the container was not removed after it exited: ps -a %q, dirs %v, monitors %v",
				ps, containerDirs(e.root), monitorsOf(e.root))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
