package hooks

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// script writes an executable shell script into a temporary directory.
func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hook.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunStdinArgsEnv(t *testing.T) {
	t.Setenv("BERTH_HOOK_LEAK", "leaked")
	out := filepath.Join(t.TempDir(), "out")
	path := script(t, `{ cat; echo; echo "argv0=$0 args=$*"; env | sort; } > "$OUT"`)
	h := specs.Hook{Path: path, Args: []string{"myhook", "a", "b c"}, Env: []string{"OUT=" + out, "X=1"}}
	state := []byte(`{"id":"c1","status":"creating"}`)
	if err := Run(context.Background(), h, state); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	// $0 of a script is the path the kernel ran; args after argv[0] are
	// the configured ones.
	for _, want := range []string{string(state) + "\n", "args=a b c", "X=1", "OUT=" + out} {
		if !strings.Contains(got, want) {
			t.Errorf("hook output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "BERTH_HOOK_LEAK") {
		t.Errorf("hook inherited the runtime's environment:\n%s", got)
	}
}

func TestRunArgv0(t *testing.T) {
	// A binary sees args[0] as its argv[0].
	out := filepath.Join(t.TempDir(), "out")
	sh := "/bin/sh"
	h := specs.Hook{Path: sh, Args: []string{"custom-argv0", "-c", `echo "$0" > ` + out}}
	if err := Run(context.Background(), h, nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); strings.TrimSpace(string(b)) != "custom-argv0" {
		t.Errorf("argv[0] = %q, want custom-argv0", b)
	}
	// No args: argv[0] is the path.
	h = specs.Hook{Path: script(t, `echo "$0" > `+out)}
	if err := Run(context.Background(), h, nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); strings.TrimSpace(string(b)) != h.Path {
		t.Errorf("argv[0] = %q, want %s", b, h.Path)
	}
}

func TestRunExitStatusAndStderr(t *testing.T) {
	h := specs.Hook{Path: script(t, `echo "something broke" >&2; exit 3`)}
	err := RunAll(context.Background(), CreateRuntime, []specs.Hook{{Path: "/bin/true"}, h}, nil)
	var he *Error
	if !errors.As(err, &he) {
		t.Fatalf("error %v (%T), want *Error", err, err)
	}
	if he.Kind != CreateRuntime || he.Index != 1 || he.Path != h.Path {
		t.Errorf("error names %s[%d] %s", he.Kind, he.Index, he.Path)
	}
	for _, want := range []string{"hooks.createRuntime[1]", h.Path, "exit status 3", "something broke"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestRunStderrBounded(t *testing.T) {
	h := specs.Hook{Path: script(t, `i=0; while [ $i -lt 2000 ]; do echo "0123456789abcdef" >&2; i=$((i+1)); done; exit 1`)}
	err := Run(context.Background(), h, nil)
	if err == nil {
		t.Fatal("no error")
	}
	if len(err.Error()) > maxOutput+500 || !strings.Contains(err.Error(), "[truncated]") {
		t.Errorf("error of %d bytes, not bounded and marked truncated", len(err.Error()))
	}
}

func TestRunTimeout(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	// The hook leaves a child in its process group: it is killed too.
	h := specs.Hook{Path: script(t, `sleep 60 & echo $! > `+pidFile+`; sleep 60`)}
	one := 1
	h.Timeout = &one
	start := time.Now()
	err := Run(context.Background(), h, nil)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("error %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 1*time.Second+waitDelay+2*time.Second {
		t.Errorf("hook ran %v past a 1s timeout", d)
	}
	b, rerr := os.ReadFile(pidFile)
	if rerr != nil {
		t.Fatal(rerr)
	}
	child := strings.TrimSpace(string(b))
	// SIGKILL takes effect when the child next runs; then it is a zombie
	// until whoever adopted it reaps it.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		st, err := os.ReadFile("/proc/" + child + "/stat")
		if err != nil || strings.Contains(string(st), ") Z") {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("the hook's child %s survived the timeout", child)
			break
		}
	}
}

func TestRunBadHooks(t *testing.T) {
	zero := 0
	for _, h := range []specs.Hook{
		{Path: "relative/hook"},
		{Path: "/bin/true", Timeout: &zero},
		{Path: "/no/such/hook"},
	} {
		if err := Run(context.Background(), h, nil); err == nil || !strings.Contains(err.Error(), h.Path) {
			t.Errorf("hook %+v: error %v, want one naming the path", h, err)
		}
	}
}

func TestList(t *testing.T) {
	h := &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/a"}}, Poststop: []specs.Hook{{Path: "/b"}, {Path: "/c"}}}
	if len(List(h, CreateRuntime)) != 1 || len(List(h, Poststop)) != 2 || List(h, Prestart) != nil || List(nil, Poststart) != nil {
		t.Error("List returned the wrong hooks")
	}
}

func TestRunEach(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	list := []specs.Hook{
		{Path: "/bin/false"},
		{Path: "/bin/sh", Args: []string{"sh", "-c", "echo ran > " + out}},
		{Path: "/no/such/hook"},
	}
	errs := RunEach(context.Background(), Poststop, list, nil)
	if len(errs) != 2 {
		t.Fatalf("errors %v, want 2", errs)
	}
	if !strings.Contains(errs[0].Error(), "hooks.poststop[0]") || !strings.Contains(errs[1].Error(), "hooks.poststop[2]") {
		t.Errorf("errors %v do not name the failed hooks", errs)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("the hook after a failed one did not run: %v", err)
	}
}

func TestValidate(t *testing.T) {
	zero := 0
	for _, tc := range []struct {
		h    *specs.Hooks
		want string
	}{
		{nil, ""},
		{&specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true"}, {Path: "rel"}}}, "hooks.poststop[1]: path"},
		{&specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/true", Timeout: &zero}}}, "hooks.createRuntime[0]: timeout"},
	} {
		err := Validate(tc.h)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.h, err, tc.want)
		}
	}
}
