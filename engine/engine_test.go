package engine

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"berth/engine/ocispec"
	"berth/internal/cbuild"
)

// bins holds berth-runtime, berth-monitor and berth-init built for the
// run, as the engine expects them side by side.
var bins string

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Println("engine: skipping: the engine tests need root")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "berth-engine-test-")
	if err != nil {
		panic(err)
	}
	bins = dir
	// The monitor and berth-init are C, built as the Makefile does.
	for _, p := range []string{"berth-monitor", "berth-init"} {
		if err = cbuild.Build(filepath.Join(dir, p), p); err != nil {
			break
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	// berth-runtime-init beside it, as installed: the runtime starts it
	// for containers whose namespaces a clone makes (and early, for run).
	for _, b := range []struct {
		cgo  string
		args []string
	}{
		{"1", []string{"-tags", "osusergo,netgo", "-ldflags", `-extldflags "-static"`, "-o", filepath.Join(dir, "berth-runtime"), "berth/cmd/berth-runtime"}},
		{"0", []string{"-tags", "osusergo,netgo", "-o", filepath.Join(dir, "berth-runtime-init"), "berth/cmd/berth-runtime-init"}},
	} {
		build := exec.Command("go", append([]string{"build"}, b.args...)...)
		build.Env = append(os.Environ(), "CGO_ENABLED="+b.cgo)
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build:", err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testEngine opens an engine on a temp root with a busybox image, and
// removes every container at the end.
func testEngine(t *testing.T) *Engine {
	t.Helper()
	ctx := context.Background()
	e, err := Open(ctx, t.TempDir(), Options{
		Runtime: filepath.Join(bins, "berth-runtime"), Monitor: filepath.Join(bins, "berth-monitor"), Self: "/bin/false",
		RunRoot: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		list, _ := e.List(ctx)
		for _, c := range list {
			if err := e.Remove(ctx, c.ID, true, true); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
		e.Close()
	})
	if _, _, err := e.Images().Bootstrap(ctx, "busybox", imageBootstrapQuiet()); err != nil {
		t.Fatal(err)
	}
	return e
}

// runDirOf is the run directory of container id (its monitor's files).
func runDirOf(t *testing.T, e *Engine, id string) string {
	t.Helper()
	c, err := e.Lookup(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return e.runDir(c)
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	c, err := e.Create(ctx, CreateOptions{Name: "t1", Image: "busybox", Spec: ocispec.Options{Cmd: []string{"sh", "-c", "echo out; exit 3"}}})
	if err != nil {
		t.Fatal(err)
	}
	if c.State.Status != StatusCreated {
		t.Errorf("after create: %s", c.State.Status)
	}
	if _, err := e.Start(ctx, "t1", nil); err != nil {
		t.Fatal(err)
	}
	code, err := e.Wait(ctx, c.ID)
	if err != nil || code != 3 {
		t.Fatalf("wait: %d %v", code, err)
	}
	got, err := e.Lookup(ctx, c.ID[:8])
	if err != nil || got.State.Status != StatusExited || got.State.ExitCode != 3 || got.State.FinishedAt.IsZero() {
		t.Errorf("lookup after exit: %+v %v", got.State, err)
	}
	log, err := os.ReadFile(e.LogPath(c.ID))
	if err != nil || !strings.Contains(string(log), `"log":"out\n","stream":"stdout"`) {
		t.Errorf("log: %q %v", log, err)
	}
	if err := e.Remove(ctx, "t1", false, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Lookup(ctx, "t1"); err == nil {
		t.Error("the container is still there")
	}
}

// TestParallel: many containers created, started and force-removed at
// once (run under -race in make test).
func TestParallel(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	const n = 12
	var wg sync.WaitGroup
	ids := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := e.Create(ctx, CreateOptions{Image: "busybox", Spec: ocispec.Options{Cmd: []string{"sleep", "100"}}})
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := e.Start(ctx, c.ID, nil); err != nil {
				t.Error(err)
				return
			}
			ids <- c.ID
		}()
	}
	wg.Wait()
	close(ids)
	list, err := e.List(ctx)
	if err != nil || len(list) != n {
		t.Fatalf("list: %d containers, %v", len(list), err)
	}
	for _, c := range list {
		if !c.State.Running {
			t.Errorf("%s: %s", c.Name, c.State.Status)
		}
	}
	for id := range ids {
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			if err := e.Remove(ctx, id, true, true); err != nil {
				t.Error(err)
			}
		}(id)
	}
	wg.Wait()
	if list, _ := e.List(ctx); len(list) != 0 {
		t.Errorf("%d containers left", len(list))
	}
	if mi, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mi), e.root) {
		t.Error("mounts left under the root")
	}
}

// TestRuntimeRoot: a container's runtime state is where it was created
// (under the run root then), whatever the run root of a later command;
// a container an older berth made has it in <root>/runtime.
func TestRuntimeRoot(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	c, err := e.Create(ctx, CreateOptions{Image: "busybox", Spec: ocispec.Options{Cmd: []string{"sleep", "30"}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(e.runRoot, "runtime"); c.RuntimeRoot != want {
		t.Fatalf("RuntimeRoot %q, want %q", c.RuntimeRoot, want)
	}
	if _, err := e.Start(ctx, c.ID, nil); err != nil {
		t.Fatal(err)
	}
	// Another command, another run root: it still finds the container.
	other, err := Open(ctx, e.root, Options{
		Runtime: e.runtime, Monitor: e.monitor, Self: "/bin/false", RunRoot: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if out, err := other.Top(ctx, c.ID, nil); err != nil || !strings.Contains(out, "sleep") {
		t.Errorf("top from another run root: %q, %v", out, err)
	}
	if err := other.Remove(ctx, c.ID, true, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(e.runRoot, "runtime", c.ID)); !os.IsNotExist(err) {
		t.Errorf("the runtime's state outlived rm -f from another run root: %v", err)
	}
	if got, want := e.runtimeRoot(&Container{ID: "old"}), filepath.Join(e.root, "runtime"); got != want {
		t.Errorf("runtimeRoot of an older berth's container: %s, want %s", got, want)
	}
}
