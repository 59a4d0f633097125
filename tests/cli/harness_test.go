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
	binary = filepath.Join(dir, "berth")
	build := exec.Command("go", "build", "-o", binary, "berth/cmd/berth")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build berth:", err)
		return 1
	}
	return m.Run()
}

// env is one test's berth: its own root, removed at the end.
type env struct {
	t    *testing.T
	root string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return &env{t: t, root: t.TempDir()}
}

// run invokes berth with --root and returns stdout, stderr and the exit
// code.
func (e *env) run(stdin []byte, args ...string) (string, string, int) {
	e.t.Helper()
	cmd := exec.Command(binary, append([]string{"--root", e.root}, args...)...)
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
