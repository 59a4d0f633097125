package runtime_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hookLogBody is a shell hook that appends "<name> <status> <pid> <mnt>"
// to $LOG, from the state JSON on its stdin; mnt says whether $ROOTFS/proc
// is mounted as the container sees it (only in its mount namespace).
const hookLogBody = `s=$(cat)
status=$(echo "$s" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')
pid=$(echo "$s" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
mnt=no
if [ -n "$ROOTFS" ] && [ -e "$ROOTFS/proc/self" ]; then mnt=yes; fi
echo "$1 $status ${pid:-none} $mnt" >> "$LOG"
`

// hookSet is a bundle's hooks that log into one file.
type hookSet struct {
	dir    string // on the host; bound at /hooklog in the container
	log    string
	script string
}

func newHookSet(t *testing.T, b *bundle) *hookSet {
	t.Helper()
	dir := t.TempDir()
	h := &hookSet{dir: dir, log: filepath.Join(dir, "log"), script: filepath.Join(dir, "hook.sh")}
	if err := os.WriteFile(h.script, []byte("#!/bin/sh\n"+hookLogBody), 0o755); err != nil {
		t.Fatal(err)
	}
	b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{
		Destination: "/hooklog", Type: "bind", Source: dir, Options: []string{"rbind", "rw"},
	})
	if b.Spec.Hooks == nil {
		b.Spec.Hooks = &specs.Hooks{}
	}
	return h
}

// host is a hook run in the runtime's namespaces (or, for
// createContainer, with the runtime's paths) that logs as name.
func (h *hookSet) host(name, rootfs string) specs.Hook {
	return specs.Hook{
		Path: h.script, Args: []string{"hook.sh", name},
		Env: []string{"LOG=" + h.log, "ROOTFS=" + rootfs, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
	}
}

// inContainer is a startContainer hook: its path resolves in the
// container, whose busybox has sh and sed.
func (h *hookSet) inContainer(name string) specs.Hook {
	return specs.Hook{
		Path: "/bin/sh", Args: []string{"sh", "-c", hookLogBody, "sh", name},
		Env: []string{"LOG=/hooklog/log", "PATH=/bin"},
	}
}

// script writes an executable hook script and returns its path.
func (h *hookSet) scriptFile(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(h.dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func (h *hookSet) lines(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(h.log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func TestHooksLifecycle(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sleep", "60")
	h := newHookSet(t, b)
	rootfs := b.Spec.Root.Path
	b.Spec.Hooks = &specs.Hooks{
		Prestart:        []specs.Hook{h.host("prestart", rootfs)}, //nolint:staticcheck // deprecated, still run
		CreateRuntime:   []specs.Hook{h.host("createRuntime", rootfs)},
		CreateContainer: []specs.Hook{h.host("createContainer", rootfs)},
		StartContainer:  []specs.Hook{h.inContainer("startContainer")},
		Poststart:       []specs.Hook{h.host("poststart", rootfs)},
		Poststop:        []specs.Hook{h.host("poststop", rootfs)},
	}
	id := e.create(b)
	pid := strconv.Itoa(e.pid(id))
	want := []string{
		"prestart creating " + pid + " no",
		"createRuntime creating " + pid + " no",
		// In the container's mount namespace, before pivot_root.
		"createContainer creating " + pid + " yes",
	}
	if got := h.lines(t); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after create, hooks logged\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	e.mustRun("start", id)
	want = append(want, "startContainer created "+pid+" no", "poststart running "+pid+" no")
	if got := h.lines(t); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after start, hooks logged\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	e.mustRun("kill", id, "KILL")
	e.waitStatus(id, "stopped")
	e.mustRun("delete", id)
	want = append(want, "poststop stopped none no")
	if got := h.lines(t); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after delete, hooks logged\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestHooksCreateFailure(t *testing.T) {
	for _, kind := range []string{"prestart", "createRuntime", "createContainer"} {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t)
			b := newBundle(t, "true")
			h := newHookSet(t, b)
			bad := specs.Hook{Path: h.scriptFile(t, "bad.sh", `echo "hook says no" >&2; exit 7`)}
			later := h.host("later", b.Spec.Root.Path)
			switch kind {
			case "prestart":
				b.Spec.Hooks.Prestart = []specs.Hook{bad} //nolint:staticcheck // deprecated, still run
				b.Spec.Hooks.CreateRuntime = []specs.Hook{later}
			case "createRuntime":
				b.Spec.Hooks.CreateRuntime = []specs.Hook{h.host("first", b.Spec.Root.Path), bad}
				b.Spec.Hooks.CreateContainer = []specs.Hook{later}
			case "createContainer":
				b.Spec.Hooks.CreateContainer = []specs.Hook{bad}
				b.Spec.Hooks.StartContainer = []specs.Hook{later}
			}
			b.Spec.Hooks.Poststop = []specs.Hook{h.host("poststop", b.Spec.Root.Path)}
			dir := b.save(t)
			id := e.id()
			_, stderr, code := e.run("create", "--bundle", dir, id)
			if code == 0 {
				t.Fatal("create succeeded with a failing hook")
			}
			for _, w := range []string{"hooks." + kind, "exit status 7", "hook says no"} {
				if !strings.Contains(stderr, w) {
					t.Errorf("create's error %q lacks %q", stderr, w)
				}
			}
			e.assertNothingLeft(id, dir)
			log := strings.Join(h.lines(t), "\n")
			if strings.Contains(log, "later") {
				t.Errorf("a hook after the failed one ran:\n%s", log)
			}
			// The container was stopped and deleted: poststop ran.
			if !strings.Contains(log, "poststop stopped none") {
				t.Errorf("poststop did not run after the failed create:\n%s", log)
			}
		})
	}
}

func TestHooksTimeout(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "true")
	h := newHookSet(t, b)
	one := 1
	b.Spec.Hooks.CreateRuntime = []specs.Hook{{Path: h.scriptFile(t, "slow.sh", "sleep 60"), Timeout: &one}}
	dir := b.save(t)
	id := e.id()
	start := time.Now()
	_, stderr, code := e.run("create", "--bundle", dir, id)
	if code == 0 {
		t.Fatal("create succeeded with a hook past its timeout")
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("create took %v with a 1s hook timeout", d)
	}
	if !strings.Contains(stderr, "timeout") || !strings.Contains(stderr, "hooks.createRuntime[0]") {
		t.Errorf("create's error %q does not name the hook and its timeout", stderr)
	}
	e.assertNothingLeft(id, dir)
}

func TestHooksStartContainerFailure(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sleep", "60")
	h := newHookSet(t, b)
	b.Spec.Hooks.StartContainer = []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "echo in-container-failure >&2; exit 4"}}}
	b.Spec.Hooks.Poststart = []specs.Hook{h.host("poststart", b.Spec.Root.Path)}
	id := e.create(b)
	_, stderr, code := e.run("start", id)
	if code == 0 {
		t.Fatal("start succeeded with a failing startContainer hook")
	}
	for _, w := range []string{"hooks.startContainer[0]", "exit status 4", "in-container-failure"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("start's error %q lacks %q", stderr, w)
		}
	}
	e.waitStatus(id, "stopped")
	if log := strings.Join(h.lines(t), "\n"); log != "" {
		t.Errorf("poststart ran after a failed start:\n%s", log)
	}
	e.mustRun("delete", id)
}

func TestHooksPostFailuresAreWarnings(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sleep", "60")
	h := newHookSet(t, b)
	bad := specs.Hook{Path: h.scriptFile(t, "bad.sh", `echo "post hook fails" >&2; exit 9`)}
	rootfs := b.Spec.Root.Path
	b.Spec.Hooks.Poststart = []specs.Hook{bad, h.host("poststart", rootfs)}
	b.Spec.Hooks.Poststop = []specs.Hook{bad, h.host("poststop", rootfs)}
	id := e.create(b)
	pid := e.pid(id)
	// A failing poststart is a warning: start succeeds, the container runs.
	_, stderr, code := e.run("start", id)
	if code != 0 {
		t.Fatalf("start: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "hooks.poststart[0]") || !strings.Contains(stderr, "post hook fails") {
		t.Errorf("no warning for the failed poststart hook: %q", stderr)
	}
	if st := e.state(id); st["status"] != "running" {
		t.Errorf("status %v after a failed poststart hook, want running", st["status"])
	}
	// A failing poststop does not stop delete, nor the hooks after it.
	_, stderr, code = e.run("delete", "--force", id)
	if code != 0 {
		t.Fatalf("delete: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "hooks.poststop[0]") {
		t.Errorf("no warning for the failed poststop hook: %q", stderr)
	}
	e.assertNothingLeft(id, b.Dir)
	want := fmt.Sprintf("poststart running %d no\npoststop stopped none no", pid)
	if got := strings.Join(h.lines(t), "\n"); got != want {
		t.Errorf("hooks logged\n%s\nwant\n%s", got, want)
	}
}

func TestHooksInvalidRefusedAtCreate(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "true")
	b.Spec.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "relative/hook"}}}
	dir := b.save(t)
	id := e.id()
	if _, stderr, code := e.run("create", "--bundle", dir, id); code == 0 || !strings.Contains(stderr, "hooks.poststop[0]: path") {
		t.Errorf("create with a relative hook path: exit %d, stderr %q", code, stderr)
	}
	e.assertNothingLeft(id, dir)
}
