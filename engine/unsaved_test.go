package engine

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"berth/engine/monitor"
	"berth/engine/ocispec"
)

// TestRunRecordsCreatedFieldsAtStart: for run (StartAfter) Create leaves
// the process and mounts to Start's transaction; once started, the record
// has them, as a create followed by start has.
func TestRunRecordsCreatedFieldsAtStart(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	dir := t.TempDir()
	c, err := e.Create(ctx, CreateOptions{Image: "busybox", StartAfter: true,
		Spec: ocispec.Options{Cmd: []string{"sleep", "30"}, Binds: []string{dir + ":/data:ro"}}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != "sleep" || !reflect.DeepEqual(c.Args, []string{"30"}) || len(c.Mounts) != 1 {
		t.Fatalf("Create's result: path %q args %q mounts %+v", c.Path, c.Args, c.Mounts)
	}
	// Not written yet: the record is pending on this process.
	before, err := e.Lookup(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if before.Pending == nil {
		t.Fatal("the record of a run not yet started is not pending")
	}
	started, err := e.Start(ctx, c.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if started.Path != "sleep" || !reflect.DeepEqual(started.Args, []string{"30"}) {
		t.Fatalf("Start's result: path %q args %q", started.Path, started.Args)
	}
	got, err := e.Lookup(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Pending != nil || got.Path != "sleep" || !reflect.DeepEqual(got.Args, []string{"30"}) ||
		!reflect.DeepEqual(got.Mounts, c.Mounts) {
		t.Fatalf("record after start: pending %v path %q args %q mounts %+v", got.Pending, got.Path, got.Args, got.Mounts)
	}
	if _, ok := e.unsaved.take(c.ID); ok {
		t.Fatal("Start left the created fields behind")
	}
}

// TestRunPrestartedMonitor: run's Create starts the monitor, which waits
// for Start; a Create that fails after that (here: an unknown user,
// found once the rootfs is mounted) kills it and leaves nothing.
func TestRunPrestartedMonitor(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	c, err := e.Create(ctx, CreateOptions{Image: "busybox", StartAfter: true,
		Spec: ocispec.Options{Cmd: []string{"sleep", "30"}}})
	if err != nil {
		t.Fatal(err)
	}
	// It writes its pid file once started: give it a moment.
	for end := time.Now().Add(5 * time.Second); !e.monitorAlive(c); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("no monitor before Start: Create did not start it")
		}
	}
	if _, err := os.Stat(filepath.Join(e.runDir(c), monitor.RunFile)); !os.IsNotExist(err) {
		t.Fatalf("the monitor started the container before the go-ahead: %v", err)
	}
	// The runtime is started too (berth-runtime: --prestart), and waits
	// for the go-ahead having made nothing.
	if rts := waitRuntimes(t, e.dir(c.ID), 1); len(rts) != 1 {
		t.Fatalf("runtimes waiting for the go-ahead: %v, want one", rts)
	}
	if _, err := os.Stat(filepath.Join(e.runtimeRoot(c), c.ID)); !os.IsNotExist(err) {
		t.Fatalf("the runtime made the container before the go-ahead: %v", err)
	}
	// With a network namespace of its own, the container's init is
	// started with the runtime (--early-init), and becomes its init.
	var early []int
	for end := time.Now().Add(5 * time.Second); len(early) == 0 && time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		early = earlyInits(t)
	}
	if len(early) != 1 {
		t.Fatalf("early inits in the bundle: %v, want one", early)
	}
	started, err := e.Start(ctx, c.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !started.State.Running || started.State.Pid == 0 {
		t.Fatalf("after Start: %+v", started.State)
	}
	if started.State.Pid != early[0] {
		t.Errorf("the container's init is %d, the early init was %d", started.State.Pid, early[0])
	}

	_, err = e.Create(ctx, CreateOptions{Image: "busybox", StartAfter: true,
		Spec: ocispec.Options{Cmd: []string{"true"}, User: "nosuchuser"}})
	if err == nil || !strings.Contains(err.Error(), "unable to find user nosuchuser") {
		t.Fatalf("Create with an unknown user: %v", err)
	}
	if pids := monitorPids(e.root); len(pids) != 1 {
		t.Errorf("monitors of this engine after the failed Create: %v, want the first container's only", pids)
	}
	// Its prestarted runtime, if the monitor got to start it before it was
	// killed, saw the monitor end and ended too.
	if rts := waitRuntimes(t, e.root+"/", 0); len(rts) != 0 {
		t.Errorf("runtimes left by the failed Create: %v", rts)
	}
	// And its early init ended with it (the first container's init runs
	// sleep by now).
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		pids := earlyInits(t)
		if len(pids) == 0 {
			break
		}
		if time.Now().After(end) {
			t.Errorf("early inits %v left by the failed Create", pids)
			break
		}
	}
	list, err := e.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Errorf("%d containers after the failed Create, want the first one only", len(list))
	}
	for _, dir := range []string{filepath.Join(e.root, "containers"), filepath.Join(e.runRoot, "containers")} {
		ents, _ := os.ReadDir(dir)
		for _, d := range ents {
			if d.IsDir() && d.Name() != c.ID {
				t.Errorf("the failed Create left %s in %s", d.Name(), dir)
			}
		}
	}

	// Removed (by another command) between Create and Start: Start fails
	// and lets its monitor go.
	gone, err := e.Create(ctx, CreateOptions{Image: "busybox", StartAfter: true,
		Spec: ocispec.Options{Cmd: []string{"true"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Remove(ctx, gone.ID, true, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Start(ctx, gone.ID, nil); err == nil {
		t.Fatal("Start of a removed container succeeded")
	}
	if _, ok := e.unsaved.monitor(gone.ID); ok {
		t.Error("Start of a removed container kept its monitor")
	}
	if pids := monitorPids(e.root); len(pids) != 1 {
		t.Errorf("monitors of this engine after Start of a removed container: %v, want the first container's only", pids)
	}
}

// waitRuntimes waits (up to 5 s) until exactly want berth-runtime
// processes have a command line that names dir, and returns them.
func waitRuntimes(t *testing.T, dir string, want int) []string {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if pids := pidsOf("berth-runtime", dir); len(pids) == want || time.Now().After(end) {
			return pids
		}
	}
}

// monitorPids lists the berth-monitor processes whose command line names
// root: the monitors of the engine there.
func monitorPids(root string) []string { return pidsOf("berth-monitor", root+"/") }

// pidsOf lists the processes named comm whose command line contains arg.
// One that has exited has an empty command line: it is not listed, reaped
// or not.
func pidsOf(comm, arg string) []string {
	var out []string
	procs, _ := filepath.Glob("/proc/[0-9]*/comm")
	for _, p := range procs {
		dir := filepath.Dir(p)
		b, err := os.ReadFile(p)
		if err != nil || strings.TrimSpace(string(b)) != comm {
			continue
		}
		if cmd, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil && strings.Contains(string(cmd), arg) {
			out = append(out, filepath.Base(dir))
		}
	}
	return out
}

// earlyInits lists the live berth-runtime-init processes that work in this
// test's directory: the early inits of the runtimes this test's monitors
// started (they inherit it), before they have their config (they go to
// the bundle then).
func earlyInits(t *testing.T) []int {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if cmd, err := os.ReadFile(p); err != nil || string(cmd) != "berth-runtime-init\x00" {
			continue
		}
		if cwd, err := os.Readlink(filepath.Join(filepath.Dir(p), "cwd")); err == nil && cwd == dir {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			out = append(out, pid)
		}
	}
	return out
}
