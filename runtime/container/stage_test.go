package container

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/runtime/cgroups"
)

// TestStageFile checks that a staged file is invisible under its name until
// commit, that discard removes it, and that discard after commit keeps the
// committed file.
func TestStageFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pid")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := stageFile(path, []byte("42"), 0o640)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Fatalf("before commit the file holds %q, want the old content", b)
	}
	if err := st.commit(); err != nil {
		t.Fatal(err)
	}
	st.discard()
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "42" {
		t.Fatalf("after commit: %q, %v", b, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode of committed file: %v, %v", fi.Mode(), err)
	}
	gone, err := stageFile(path, []byte("43"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	gone.discard()
	gone.discard()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "pid" {
		t.Fatalf("discard left files behind: %v", entries)
	}
	if b, _ := os.ReadFile(path); string(b) != "42" {
		t.Fatalf("a discarded stage changed the file: %q", b)
	}
}

// TestSaveWithEncodedConfig checks that a state written with its config
// encoded beforehand (as create does) reads back as the one save writes.
func TestSaveWithEncodedConfig(t *testing.T) {
	root := t.TempDir()
	mk := func(id string) *State {
		dir := stateDir(root, id)
		if err := os.Mkdir(dir, 0o711); err != nil {
			t.Fatal(err)
		}
		return &State{
			ID: id, Bundle: "/b", Rootfs: "/b/rootfs", Pid: 42, PidStart: 7, Owner: "root",
			Config: &specs.Spec{
				Version: specs.Version, Hostname: "h",
				Process: &specs.Process{Args: []string{"sh"}, Cwd: "/"},
				Linux:   &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}}},
			},
			Cgroup:      &cgroups.Manager{Mode: cgroups.V1, Paths: map[string]string{"pids": "/sys/fs/cgroup/pids/berth/" + id}},
			Annotations: map[string]string{"a": "b"},
			dir:         dir,
		}
	}
	a, b := mk("a"), mk("b")
	if err := a.save(); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(b.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.saveWith(raw); err != nil {
		t.Fatal(err)
	}
	la, err := Load(root, "a")
	if err != nil {
		t.Fatal(err)
	}
	lb, err := Load(root, "b")
	if err != nil {
		t.Fatal(err)
	}
	lb.ID, lb.dir, lb.Cgroup, lb.file = la.ID, la.dir, la.Cgroup, la.file
	if !reflect.DeepEqual(la, lb) {
		t.Fatalf("saveWith wrote %+v, save %+v", lb, la)
	}
}

// TestRemoveStateDir checks that the state directory goes, with the files
// the runtime puts there and with anything else left in it.
func TestRemoveStateDir(t *testing.T) {
	root := t.TempDir()
	for _, extra := range []string{"", ".state.json.123"} {
		dir := filepath.Join(root, "c")
		if err := os.Mkdir(dir, 0o711); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{stateFile, extra} {
			if name == "" {
				continue
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte("{}"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := removeStateDir(dir); err != nil {
			t.Fatalf("with %q: %v", extra, err)
		}
		if _, err := os.Lstat(dir); !os.IsNotExist(err) {
			t.Fatalf("with %q: the directory is still there (%v)", extra, err)
		}
	}
	if err := removeStateDir(filepath.Join(root, "missing")); err != nil {
		t.Fatalf("a missing directory: %v", err)
	}
}

// TestInitSpec checks that init's spec leaves out what init never reads,
// without touching the container's config.
func TestInitSpec(t *testing.T) {
	cfg := &specs.Spec{
		Hostname:    "h",
		Process:     &specs.Process{Args: []string{"sh"}},
		Annotations: map[string]string{"a": "b"},
		Mounts:      []specs.Mount{{Destination: "/proc", Type: "proc"}},
		Linux: &specs.Linux{
			Namespaces:  []specs.LinuxNamespace{{Type: specs.MountNamespace}},
			Seccomp:     &specs.LinuxSeccomp{DefaultAction: specs.ActErrno},
			Resources:   &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0"}},
			MaskedPaths: []string{"/proc/kcore"},
		},
	}
	s := initSpec(cfg)
	if s.Process != nil || s.Annotations != nil || s.Linux.Seccomp != nil || s.Linux.Resources != nil {
		t.Fatalf("initSpec kept what init does not read: %+v %+v", s, s.Linux)
	}
	if s.Hostname != "h" || len(s.Mounts) != 1 || len(s.Linux.Namespaces) != 1 || len(s.Linux.MaskedPaths) != 1 {
		t.Fatalf("initSpec lost what init reads: %+v %+v", s, s.Linux)
	}
	if cfg.Process == nil || cfg.Annotations == nil || cfg.Linux.Seccomp == nil || cfg.Linux.Resources == nil {
		t.Fatal("initSpec changed the container's config")
	}
	if initSpec(nil) != nil {
		t.Fatal("initSpec(nil) is not nil")
	}
}

// TestInitNeedsState checks that init gets the state JSON exactly when it
// runs hooks itself.
func TestInitNeedsState(t *testing.T) {
	h := func(kind string) *specs.Hooks {
		hk := []specs.Hook{{Path: "/bin/true"}}
		switch kind {
		case "createContainer":
			return &specs.Hooks{CreateContainer: hk}
		case "startContainer":
			return &specs.Hooks{StartContainer: hk}
		case "prestart":
			return &specs.Hooks{Prestart: hk}
		case "poststop":
			return &specs.Hooks{Poststop: hk}
		}
		return nil
	}
	for kind, want := range map[string]bool{"": false, "createContainer": true, "startContainer": true, "prestart": false, "poststop": false} {
		if got := initNeedsState(h(kind)); got != want {
			t.Errorf("hooks %q: initNeedsState %v, want %v", kind, got, want)
		}
	}
}

// TestUnchanged checks that a loaded state knows whether its file has been
// written again since, so delete reads it once when nothing changed.
func TestUnchanged(t *testing.T) {
	root := t.TempDir()
	dir := stateDir(root, "c")
	if err := os.Mkdir(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	st := &State{ID: "c", Pid: 1, Config: &specs.Spec{}, dir: dir}
	if st.unchanged() {
		t.Fatal("a state never read from a file is unchanged")
	}
	if err := st.save(); err != nil {
		t.Fatal(err)
	}
	got, err := LoadLight(root, "c")
	if err != nil {
		t.Fatal(err)
	}
	if !got.unchanged() {
		t.Fatal("state file not written again, but seen as changed")
	}
	st.Pid = 2
	if err := st.save(); err != nil {
		t.Fatal(err)
	}
	if got.unchanged() {
		t.Fatal("state file written again, but seen as unchanged")
	}
	again, err := LoadLight(root, "c")
	if err != nil || again.Pid != 2 || !again.unchanged() {
		t.Fatalf("reload: %+v, %v", again, err)
	}
	if err := os.Remove(filepath.Join(dir, stateFile)); err != nil {
		t.Fatal(err)
	}
	if again.unchanged() {
		t.Fatal("a removed state file seen as unchanged")
	}
}
