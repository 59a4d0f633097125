package runtime_test

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestInitBinary: a container whose namespaces are all new starts its
// init from berth-runtime-init beside berth-runtime (the clone makes the
// namespaces); one that joins a namespace, or a runtime without
// berth-runtime-init beside it, starts `berth-runtime init` (nsexec). All
// three run their program.
func TestInitBinary(t *testing.T) {
	alone := runtimeAlone(t)
	e := newEnv(t)
	// The init of a created container waits for start: its command line
	// says which binary it is.
	created := func(t *testing.T, e *env, b *bundle, want string) {
		t.Helper()
		id := e.id()
		e.mustRun("create", "--bundle", b.save(t), id)
		pid := int(e.state(id)["pid"].(float64))
		cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || string(cmd) != want {
			t.Errorf("init's command line %q, %v; want %q", cmd, err, want)
		}
		e.mustRun("start", id)
		e.waitStatus(id, "stopped")
		e.mustRun("delete", id)
	}
	first := newBundle(t, "sleep", "30")
	fid := e.id()
	e.mustRun("run", "--detach", "--bundle", first.save(t), fid)
	fpid := int(e.state(fid)["pid"].(float64))
	t.Cleanup(func() { e.run("delete", "--force", fid) })

	t.Run("new namespaces", func(t *testing.T) {
		created(t, e.sub(t), newBundle(t, "true"), "berth-runtime-init\x00")
	})
	t.Run("joined namespace", func(t *testing.T) {
		b := newBundle(t, "true")
		b.setNamespace(specs.NetworkNamespace, fmt.Sprintf("/proc/%d/ns/net", fpid))
		created(t, e.sub(t), b, "berth-runtime\x00init\x00")
	})
	t.Run("without berth-runtime-init", func(t *testing.T) {
		ea := newEnv(t)
		ea.bin = alone
		created(t, ea, newBundle(t, "true"), "berth-runtime\x00init\x00")
	})
}

// runtimeAlone is a copy of the test's berth-runtime without
// berth-runtime-init beside it.
func runtimeAlone(t *testing.T) string {
	t.Helper()
	alone := filepath.Join(t.TempDir(), "berth-runtime")
	data, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(alone, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return alone
}

// TestInitProtocol: a berth-runtime-init told of another protocol version
// (one from another build) refuses, and says so on the init socket.
func TestInitProtocol(t *testing.T) {
	requireRoot(t)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "init socket"), os.NewFile(uintptr(fds[1]), "init socket (init)")
	defer ours.Close()
	cmd := exec.Command(filepath.Join(filepath.Dir(binary), "berth-runtime-init"))
	cmd.Env = []string{"_BERTH_INITPIPE=3", "_BERTH_INIT_PROTOCOL=0", "GOMAXPROCS=1"}
	cmd.ExtraFiles = []*os.File{theirs}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	theirs.Close()
	reply, _ := io.ReadAll(ours)
	if err := cmd.Wait(); err == nil {
		t.Error("init went on with another protocol")
	}
	if !strings.Contains(string(reply), `"type":"error"`) || !strings.Contains(string(reply), "different builds") {
		t.Errorf("init's reply %q; want an error naming the different builds", reply)
	}
}

// TestIgnoredSignalsReset: a runtime started with SIGHUP and SIGINT
// ignored (under nohup, or from a shell that ignores them) does not hand
// that on: the container's process starts with every signal at its
// default, by either init.
func TestIgnoredSignalsReset(t *testing.T) {
	for _, c := range []struct{ name, bin string }{{"berth-runtime-init", binary}, {"nsexec", runtimeAlone(t)}} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			b := newBundle(t, "cat", "/proc/self/status")
			out := tempFile(t)
			// Detached, as berth's monitor runs it: a foreground run
			// relays signals, and so handles (and resets) them itself.
			id := e.id()
			cmd := exec.Command("sh", "-c", `trap "" HUP INT; exec "$0" "$@"`, c.bin, "--root", e.root, "run", "--detach", "--bundle", b.save(t), id)
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Run(); err != nil {
				t.Fatalf("run: %v: %s", err, readBack(t, out))
			}
			e.bin = c.bin
			e.waitStatus(id, "stopped")
			e.mustRun("delete", id)
			status := readBack(t, out)
			var ignored string
			for _, line := range strings.Split(status, "\n") {
				if v, ok := strings.CutPrefix(line, "SigIgn:"); ok {
					ignored = strings.TrimSpace(v)
				}
			}
			if ignored != "0000000000000000" {
				t.Errorf("the container's process ignores signals (SigIgn %q), want none:\n%s", ignored, status)
			}
		})
	}
}
