// Package cli_test drives the berth binary as a user would, each test with
// its own --root. The image commands mount overlays, so it needs root.
package cli_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"berth/internal/cbuild"
)

// binary is the berth CLI built once for the whole run.
var binary string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Println("tests/cli: skipping: the berth CLI tests need root")
		return 0
	}
	dir, err := os.MkdirTemp("", "berth-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// The run root (the runtime's state) of every berth this process
	// runs, in dir rather than the host's /run/berth.
	os.Setenv("BERTH_RUNROOT", filepath.Join(dir, "run"))
	// berth finds berth-runtime, berth-monitor and berth-full beside
	// itself, and berth-runtime finds berth-runtime-init beside itself.
	binary = filepath.Join(dir, "berth")
	if bin := os.Getenv("BERTH_TEST_BINDIR"); bin != "" {
		// Prebuilt binaries: the cgroup v2 guest (scripts/vm/run-v2.sh -e)
		// has neither Go nor a C compiler.
		for _, name := range []string{"berth", "berth-full", "berth-monitor", "berth-init", "berth-runtime", "berth-runtime-init"} {
			if err := copyBinary(filepath.Join(bin, name), filepath.Join(dir, name)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		return m.Run()
	}
	// The monitor and berth-init are C, built as the Makefile does.
	for _, p := range []string{"berth-monitor", "berth-init"} {
		if err = cbuild.Build(filepath.Join(dir, p), p); err != nil {
			break
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, b := range [][]string{
		{"-o", binary, "berth/cmd/berth"},
		{"-tags", "berthfull", "-o", filepath.Join(dir, "berth-full"), "berth/cmd/berth"},
		{"-tags", "osusergo,netgo", "-ldflags", `-extldflags "-static"`, "-o", filepath.Join(dir, "berth-runtime"), "berth/cmd/berth-runtime"},
		{"-tags", "osusergo,netgo", "-o", filepath.Join(dir, "berth-runtime-init"), "berth/cmd/berth-runtime-init"},
	} {
		build := exec.Command("go", append([]string{"build"}, b...)...)
		if b[len(b)-1] == "berth/cmd/berth-runtime-init" {
			build.Env = append(os.Environ(), "CGO_ENABLED=0")
		}
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build:", err)
			return 1
		}
	}
	return m.Run()
}

// copyBinary copies an executable for BERTH_TEST_BINDIR.
func copyBinary(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("BERTH_TEST_BINDIR: %w", err)
	}
	return os.WriteFile(dst, data, 0o755)
}

// env is one test's berth: its own root, removed at the end.
type env struct {
	t    *testing.T
	root string
	// netns, if set, is a network namespace file every berth command runs
	// in (nsenter), so that its bridges and rules never reach the host's
	// (network_test.go).
	netns string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, root: t.TempDir()}
	// Containers hold mounts and cgroups: remove them all, even when the
	// test failed, before the root goes.
	t.Cleanup(func() {
		out, _, _ := e.run(nil, "ps", "-aq", "--no-trunc")
		for _, id := range strings.Fields(out) {
			if _, stderr, code := e.run(nil, "rm", "-f", id); code != 0 {
				t.Errorf("cleanup: rm -f %s: %s", id, stderr)
			}
		}
	})
	return e
}

// runDir is container id's run directory, under the run root TestMain
// set: its monitor's files and its /etc files.
func runDir(id string) string {
	return filepath.Join(os.Getenv("BERTH_RUNROOT"), "containers", id)
}

// monitorPidFile is container id's monitor.pid, in its run directory.
func monitorPidFile(id string) string {
	return filepath.Join(runDir(id), "monitor.pid")
}

// withBusybox gives the env a busybox:latest image.
func (e *env) withBusybox() *env {
	e.t.Helper()
	e.must("image", "bootstrap", "-q", "busybox")
	return e
}

// run invokes berth with --root and returns stdout, stderr and the exit
// code.
func (e *env) run(stdin []byte, args ...string) (string, string, int) {
	e.t.Helper()
	args = e.netArgs(args)
	cmd := exec.Command(binary, append([]string{"--root", e.root}, args...)...)
	if e.netns != "" {
		cmd = exec.Command("nsenter", append([]string{"--net=" + e.netns, binary, "--root", e.root}, args...)...)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("berth %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), code
}

// must runs berth and fails the test unless it exits 0.
func (e *env) must(args ...string) string {
	e.t.Helper()
	out, stderr, code := e.run(nil, args...)
	if code != 0 {
		e.t.Fatalf("berth %s: exit %d: %s%s", strings.Join(args, " "), code, stderr, out)
	}
	return out
}

// fails runs berth and checks it fails with code and a message holding
// want.
func (e *env) fails(code int, want string, args ...string) {
	e.t.Helper()
	out, stderr, got := e.run(nil, args...)
	if got != code || !strings.Contains(stderr, want) {
		e.t.Errorf("berth %s: exit %d, stderr %q, stdout %q; want exit %d and %q", strings.Join(args, " "), got, stderr, out, code, want)
	}
}

// netArgs gives a run or create that names no network `--network none`
// unless the env runs berth in a network namespace of its own: berth's
// default network, bridge, would make berth0, nftables rules and
// ip_forward in the host's namespace. Networking tests use newNetnsEnv,
// where the default stays.
func (e *env) netArgs(args []string) []string {
	if e.netns != "" {
		return args
	}
	// The verb comes after global flags (--snapshotter native) and an
	// optional "container".
	verb := -1
	for i, a := range args {
		if a == "run" || a == "create" {
			verb = i
			break
		}
		flagValue := i > 0 && strings.HasPrefix(args[i-1], "--") && !strings.Contains(args[i-1], "=")
		if a != "container" && !strings.HasPrefix(a, "-") && !flagValue {
			return args // another command
		}
	}
	if verb < 0 {
		return args
	}
	for _, a := range args {
		if a == "--network" || a == "--net" || strings.HasPrefix(a, "--network=") || strings.HasPrefix(a, "--net=") {
			return args
		}
	}
	out := append([]string(nil), args[:verb+1]...)
	out = append(out, "--network", "none")
	return append(out, args[verb+1:]...)
}
