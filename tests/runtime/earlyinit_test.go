package runtime_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestEarlyInit: run --wait-fd N --early-init starts berth-runtime-init
// before the bundle exists. A config with the default namespaces gets
// that process as its init, with the rootfs mounted after it started (its
// mount namespace was copied before); another config gets a new init and
// the early one is ended; called off, the runtime ends it too.
func TestEarlyInit(t *testing.T) {
	e := newEnv(t)
	// start runs the runtime with --early-init and returns it, the
	// go-ahead's writing end, and the early init's pid.
	start := func(t *testing.T, dir, id string) (*runningRuntime, int) {
		t.Helper()
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd := e.command("run", "--detach", "--wait-fd", "3", "--early-init", "--bundle", dir, id)
		errf := tempFile(t)
		cmd.Stdout, cmd.Stderr = errf, errf
		cmd.ExtraFiles = []*os.File{r}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r.Close()
		rt := &runningRuntime{goAhead: w, out: errf, exited: make(chan error, 1)}
		go func() { rt.exited <- cmd.Wait() }()
		t.Cleanup(func() { rt.goAhead.Close() })
		pid := earlyChild(t, cmd.Process.Pid)
		return rt, pid
	}

	t.Run("used", func(t *testing.T) {
		b := newBundle(t, "sh", "-c", "cat /marker; sleep 30")
		real := b.privateRootfs(t)
		if err := os.WriteFile(filepath.Join(real, "marker"), []byte("mounted late\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		// The rootfs is a mount made after the runtime and its early init
		// started, as berth mounts the overlay.
		mnt := filepath.Join(b.Dir, "late")
		if err := os.Mkdir(mnt, 0o755); err != nil {
			t.Fatal(err)
		}
		b.Spec.Root.Path = mnt
		id := e.id()
		rt, early := start(t, b.Dir, id)
		if err := unix.Mount(real, mnt, "", unix.MS_BIND, ""); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = unix.Unmount(mnt, unix.MNT_DETACH) })
		b.save(t)
		rt.goAheadAndWait(t)
		st := e.state(id)
		if pid := int(st["pid"].(float64)); pid != early {
			t.Errorf("container's init is %d, the early init was %d", pid, early)
		}
		waitFor(t, func() bool { return strings.Contains(readFile(rt.out.Name()), "mounted late") },
			"the container to see the rootfs mounted after its init started: "+readFile(rt.out.Name()))
		e.mustRun("delete", "--force", id)
		e.assertNothingLeft(id, b.Dir)
	})

	t.Run("other namespaces", func(t *testing.T) {
		b := newBundle(t, "sleep", "30")
		// The host's network: the early init's namespaces do not fit.
		b.Spec.Linux.Namespaces = slices.DeleteFunc(b.Spec.Linux.Namespaces, func(n specs.LinuxNamespace) bool {
			return n.Type == specs.NetworkNamespace
		})
		id := e.id()
		rt, early := start(t, b.Dir, id)
		b.save(t)
		rt.goAheadAndWait(t)
		st := e.state(id)
		if pid := int(st["pid"].(float64)); pid == early {
			t.Errorf("the early init %d became a container with other namespaces", early)
		}
		if processRunning(early) {
			t.Errorf("the early init %d was not ended", early)
		}
		e.mustRun("delete", "--force", id)
		e.assertNothingLeft(id, b.Dir)
	})

	t.Run("called off", func(t *testing.T) {
		// A bundle not made yet: the early init starts all the same.
		dir := filepath.Join(t.TempDir(), "later")
		id := e.id()
		rt, early := start(t, dir, id)
		rt.goAhead.Close()
		if err := <-rt.exited; err == nil {
			t.Error("run without the go-ahead succeeded")
		}
		if processRunning(early) {
			t.Errorf("the early init %d was not ended", early)
		}
		e.assertNothingLeft(id, dir)
	})
}

// runningRuntime is a berth-runtime run waiting for its go-ahead.
type runningRuntime struct {
	goAhead *os.File
	out     *os.File
	exited  chan error
}

// goAheadAndWait gives the go-ahead and waits for the detached run.
func (r *runningRuntime) goAheadAndWait(t *testing.T) {
	t.Helper()
	if _, err := r.goAhead.WriteString("G"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-r.exited:
		if err != nil {
			t.Fatalf("run: %v: %s", err, readFile(r.out.Name()))
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return")
	}
}

// earlyChild waits for the child berth-runtime-init of the runtime pid,
// started before any go-ahead, and returns its pid.
func earlyChild(t *testing.T, pid int) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(pid) + "/children")
		for _, f := range strings.Fields(string(b)) {
			cmd, _ := os.ReadFile("/proc/" + f + "/cmdline")
			if string(cmd) == "berth-runtime-init\x00" {
				child, _ := strconv.Atoi(f)
				return child
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no early init started by runtime %d", pid)
	return 0
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readFile(name string) string {
	b, _ := os.ReadFile(name)
	return string(b)
}
