package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// loggingRuntime writes a runtime that logs each call's arguments, one
// line each, and runs the real runtime at path.
func loggingRuntime(t *testing.T, path string) (wrapper, log string) {
	t.Helper()
	dir := t.TempDir()
	wrapper, log = filepath.Join(dir, "runtime"), filepath.Join(dir, "calls")
	script := "#!/bin/sh\necho \"$*\" >> " + log + "\nexec " + path + " \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return wrapper, log
}

// calls returns the verbs the runtime was called with since the last
// call, and forgets them.
func calls(t *testing.T, log string) string {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	_ = os.Remove(log)
	var verbs []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		// --root DIR VERB ...
		if len(f) > 2 && f[0] == "--root" {
			verb := f[2]
			if verb == "run" || verb == "create" {
				for _, a := range f[3:] {
					if a == "--detach" || a == "--console-socket" {
						verb += " " + a
					}
				}
			}
			verbs = append(verbs, verb)
		}
	}
	return strings.Join(verbs, ", ")
}

// TestOtherRuntime: runc in place of berth-runtime, per container and
// for all (--runtime), through its command line only: one `run --detach`
// per start without a terminal; create, then start, with one, so that
// the terminal's size is set before the process runs.
func TestOtherRuntime(t *testing.T) {
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Fatalf("runc (Debian's runc package, installed by make deps): %v", err)
	}
	wrapper, log := loggingRuntime(t, runc)
	e := newEnv(t).withBusybox()

	if out := e.must("run", "--rm", "--runtime", wrapper, "busybox", "echo", "hi"); out != "hi\n" {
		t.Errorf("run --rm with runc: %q", out)
	}
	if got := calls(t, log); got != "run --detach, delete" {
		t.Errorf("runtime calls of run --rm: %q", got)
	}
	e.fails(127, "executable file not found", "run", "--rm", "--runtime", wrapper, "busybox", "nosuch")
	calls(t, log)

	e.must("--runtime", wrapper, "run", "-d", "--name", "rc", "busybox", "sleep", "100")
	if got := calls(t, log); got != "run --detach" {
		t.Errorf("runtime calls of run -d: %q", got)
	}
	if !e.running("rc") {
		t.Errorf("rc not running: %s", e.must("ps", "-a"))
	}
	if out := e.must("exec", "rc", "cat", "/proc/1/cmdline"); out != "sleep\x00100\x00" {
		t.Errorf("exec in a runc container: %q", out)
	}
	if got := e.must("inspect", "-f", "{{.HostConfig.Runtime}}", "rc"); strings.TrimSpace(got) != wrapper {
		t.Errorf("inspect's runtime: %q, want %q", got, wrapper)
	}
	e.must("stop", "-t", "1", "rc")
	e.must("start", "rc")
	if !e.running("rc") {
		t.Errorf("rc not running after a restart: %s", e.must("ps", "-a"))
	}
	e.must("rm", "-f", "rc")
	if out := e.must("ps", "-aq"); out != "" {
		t.Errorf("containers left: %q", out)
	}
	if got := calls(t, log); !strings.HasPrefix(got, "exec, kill") || !strings.Contains(got, ", run --detach, ") {
		t.Errorf("runtime calls of exec, stop, start and rm: %q", got)
	}

	tm := e.startTerminal(24, 80, "run", "-it", "--rm", "--runtime", wrapper, "busybox", "sh")
	tm.expect(prompt)
	if got := tm.size(); got != "24 80" {
		t.Errorf("the terminal's size in a runc container: %q", got)
	}
	tm.send("exit 3\r")
	if code := tm.wait(); code != 3 {
		t.Errorf("run -it exit code: %d", code)
	}
	if got := calls(t, log); !strings.HasPrefix(got, "create --console-socket, start") {
		t.Errorf("runtime calls of run -it: %q", got)
	}
}
