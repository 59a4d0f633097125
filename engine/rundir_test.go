package engine

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/engine/monitor"
	"berth/engine/ocispec"
	"berth/snapshot"
)

// TestRunDir: the monitor's files and the /etc files are in the
// container's run directory, under the run root, and not in the container
// directory (but the exit, which outlives a reboot); a start after the
// directory went (a reboot empties the tmpfs) makes it again, /etc files
// included; rm removes it. A record without RunDir (an older berth's)
// keeps them in the container directory.
func TestRunDir(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	zero := 0
	c, err := e.Create(ctx, CreateOptions{Image: "busybox", Spec: ocispec.Options{Cmd: []string{"sleep", "100"}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(e.runRoot, "containers", c.ID); c.RunDir != want {
		t.Fatalf("RunDir %q, want %q", c.RunDir, want)
	}
	start := func() {
		t.Helper()
		if _, err := e.Start(ctx, c.ID, nil); err != nil {
			t.Fatal(err)
		}
		got, err := e.Lookup(ctx, c.ID)
		if err != nil || !got.State.Running {
			t.Fatalf("after start: %+v %v", got, err)
		}
	}
	etc := func(dir string) {
		t.Helper()
		for _, f := range []string{"hostname", "hosts", "resolv.conf"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("/etc file: %v", err)
			}
		}
		if b, err := os.ReadFile(filepath.Join(dir, "hostname")); err != nil || string(b) != c.ID[:12]+"\n" {
			t.Errorf("hostname file %q %v, want the short ID", b, err)
		}
	}
	layerEtc := filepath.Join(etcLayerDir(c), "etc")
	etc(layerEtc)
	start()
	for _, f := range []string{monitor.PidFile, monitor.RunFile, monitor.AttachSock, monitor.MonitorLog, monitor.InitPidFile} {
		if _, err := os.Lstat(filepath.Join(c.RunDir, f)); err != nil {
			t.Errorf("run directory: %v", err)
		}
		if _, err := os.Lstat(filepath.Join(e.dir(c.ID), f)); !os.IsNotExist(err) {
			t.Errorf("%s in the container directory: %v", f, err)
		}
	}
	for _, f := range []string{"hostname", "hosts", "resolv.conf"} {
		if _, err := os.Lstat(filepath.Join(e.dir(c.ID), f)); !os.IsNotExist(err) {
			t.Errorf("%s in the container directory: %v", f, err)
		}
	}
	if _, err := os.Stat(e.LogPath(c.ID)); err != nil || !strings.HasPrefix(e.LogPath(c.ID), e.dir(c.ID)) {
		t.Errorf("log %s: %v", e.LogPath(c.ID), err)
	}

	// Stopped, then a reboot: the exit, in the container directory, stays.
	if _, err := e.Stop(ctx, c.ID, &zero); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(e.dir(c.ID), monitor.ExitFile)); err != nil {
		t.Errorf("exit: %v", err)
	}
	reboot(t, e, c)
	if got, err := e.Lookup(ctx, c.ID); err != nil || got.State.Status != StatusExited || got.State.ExitCode != 137 {
		t.Errorf("stopped, after the run directory went: %+v %v, want exited 137", got.State, err)
	}
	start()
	if _, err := os.Stat(filepath.Join(c.RunDir, monitor.PidFile)); err != nil {
		t.Errorf("after the run directory went: %v", err)
	}
	etc(layerEtc)

	// A reboot while it runs: monitor and container gone, and the run
	// directory with them. It shows as exited (255, as Docker's), and
	// starts again.
	var run monitor.Run
	if err := monitor.ReadJSON(c.RunDir, monitor.RunFile, &run); err != nil {
		t.Fatal(err)
	}
	for _, pid := range []int{monitorPid(t, e, c.ID), run.Pid} {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	for end := time.Now().Add(10 * time.Second); e.monitorAlive(c) || e.containerAlive(c.ID, run.Pid); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the monitor or the container outlived SIGKILL")
		}
	}
	reboot(t, e, c)
	if got, err := e.Lookup(ctx, c.ID); err != nil || got.State.Status != StatusExited || got.State.ExitCode != 255 || got.State.Error == "" {
		t.Errorf("after a reboot while it ran: %+v %v, want exited 255 with an error", got.State, err)
	}
	start()
	if _, err := e.Stop(ctx, c.ID, &zero); err != nil {
		t.Fatal(err)
	}

	// An older berth's record: no RunDir (and no run directory), its
	// /etc files in the container directory.
	if err := os.RemoveAll(c.RunDir); err != nil {
		t.Fatal(err)
	}
	toContainerDir(t, e, c)
	if _, err := e.modify(c.ID, func(r *Container) error {
		r.RunDir = ""
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	start()
	if _, err := os.Stat(filepath.Join(e.dir(c.ID), monitor.PidFile)); err != nil {
		t.Errorf("a record without RunDir: %v", err)
	}
	etc(e.dir(c.ID))
	if err := e.Remove(ctx, c.ID, true, false); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{c.RunDir, e.dir(c.ID)} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s after rm: %v", d, err)
		}
	}
}

// toContainerDir makes c's /etc files what an older berth made: in the
// container directory, and bound from there.
func toContainerDir(t *testing.T, e *Engine, c *Container) {
	t.Helper()
	dir := e.dir(c.ID)
	path := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	for i, m := range s.Mounts {
		if strings.HasPrefix(m.Source, c.RunDir+"/") {
			s.Mounts[i].Source = filepath.Join(dir, filepath.Base(m.Source))
		}
	}
	if b, err = json.Marshal(&s); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ocispec.WriteEtcFiles(dir, s.Hostname, false, []string{"hostname", "hosts", "resolv.conf"}); err != nil {
		t.Fatal(err)
	}
}

// reboot does to c what a reboot does to a stopped container: its rootfs
// is no longer mounted and its run directory (a tmpfs) is gone.
func reboot(t *testing.T, e *Engine, c *Container) {
	t.Helper()
	if err := snapshot.Unmount(filepath.Join(e.dir(c.ID), "rootfs")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(c.RunDir); err != nil {
		t.Fatal(err)
	}
}
