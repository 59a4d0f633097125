package container

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/runtime/cgroups"
)

// TestLoadLight checks that LoadLight reads every field of the state but
// only the hooks and namespaces of the config, and that such a state is
// never written back.
func TestLoadLight(t *testing.T) {
	root := t.TempDir()
	dir := stateDir(root, "c1")
	if err := os.Mkdir(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	hooks := &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true", Args: []string{"true", "x"}}}}
	ns := []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}}
	full := &State{
		ID: "c1", Bundle: "/b", Rootfs: "/b/rootfs", Pid: 42, PidStart: 7, Owner: "root",
		Config: &specs.Spec{
			Version: specs.Version, Hostname: "h", Hooks: hooks,
			Process: &specs.Process{Args: []string{"sh"}},
			Linux: &specs.Linux{
				Namespaces: ns,
				Seccomp:    &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow}}},
			},
		},
		Cgroup:      &cgroups.Manager{Mode: cgroups.V1, Paths: map[string]string{"pids": "/sys/fs/cgroup/pids/berth/c1"}},
		Annotations: map[string]string{"a": "b"},
		HostMounts:  []int{3},
		dir:         dir,
	}
	if err := full.save(); err != nil {
		t.Fatal(err)
	}
	st, err := LoadLight(root, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if st.ID != "c1" || st.Bundle != "/b" || st.Pid != 42 || st.PidStart != 7 || st.Owner != "root" ||
		!reflect.DeepEqual(st.Cgroup, full.Cgroup) || !reflect.DeepEqual(st.Annotations, full.Annotations) ||
		!reflect.DeepEqual(st.HostMounts, full.HostMounts) || st.Dir() != dir {
		t.Fatalf("LoadLight lost state fields: %+v", st)
	}
	if !reflect.DeepEqual(st.Config.Hooks, hooks) || !reflect.DeepEqual(st.Config.Linux.Namespaces, ns) {
		t.Fatalf("LoadLight config view: hooks %+v, namespaces %+v", st.Config.Hooks, st.Config.Linux.Namespaces)
	}
	if st.Config.Process != nil || st.Config.Linux.Seccomp != nil || st.Config.Hostname != "" {
		t.Fatalf("LoadLight decoded more than the view: %+v", st.Config)
	}
	if sharesMountNS(st.Config) {
		t.Fatal("a container with its own mount namespace seen as sharing the runtime's")
	}
	if err := st.save(); err == nil || !strings.Contains(err.Error(), "LoadLight") {
		t.Fatalf("saving a light state: %v, want a refusal", err)
	}
	// The file is what save wrote, whole.
	again, err := Load(root, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again.Config, full.Config) {
		t.Fatalf("full config changed: %+v", again.Config)
	}

	// A config without linux stays without it: no mount namespace named
	// means the runtime's is shared only when linux says so.
	full.Config = &specs.Spec{Version: specs.Version}
	if err := full.save(); err != nil {
		t.Fatal(err)
	}
	if st, err = LoadLight(root, "c1"); err != nil || st.Config == nil || st.Config.Linux != nil {
		t.Fatalf("config without linux: %v, %+v", err, st)
	}
	// Hostile state files are errors, not panics.
	for _, bad := range []string{`{"config":[1]}`, `{"config":{"linux":"x"}}`, `{"id":`, `{"config":{"hooks":{"poststop":{}}}}`} {
		if err := os.WriteFile(filepath.Join(dir, stateFile), []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadLight(root, "c1"); err == nil {
			t.Errorf("LoadLight(%s) succeeded", bad)
		}
	}
}
