package runtime_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestInitBinary: a container whose namespaces are all new starts its
// init from berth-runtime-init beside berth-runtime (the clone makes the
// namespaces); one that joins a namespace, or a runtime without
// berth-runtime-init beside it, starts `berth-runtime init` (nsexec). All
// three run their program.
func TestInitBinary(t *testing.T) {
	alone := filepath.Join(t.TempDir(), "berth-runtime")
	data, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(alone, data, 0o755); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	// The init of a created container waits for start: its command line
	// says which binary it is.
	created := func(e *env, b *bundle, want string) string {
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
		return id
	}
	first := newBundle(t, "sleep", "30")
	fid := e.id()
	e.mustRun("run", "--detach", "--bundle", first.save(t), fid)
	fpid := int(e.state(fid)["pid"].(float64))
	t.Cleanup(func() { e.run("delete", "--force", fid) })

	t.Run("new namespaces", func(t *testing.T) {
		created(e, newBundle(t, "true"), "berth-runtime-init\x00")
	})
	t.Run("joined namespace", func(t *testing.T) {
		b := newBundle(t, "true")
		b.setNamespace(specs.NetworkNamespace, fmt.Sprintf("/proc/%d/ns/net", fpid))
		created(e, b, "berth-runtime\x00init\x00")
	})
	t.Run("without berth-runtime-init", func(t *testing.T) {
		ea := newEnv(t)
		ea.bin = alone
		created(ea, newBundle(t, "true"), "berth-runtime\x00init\x00")
	})
}
