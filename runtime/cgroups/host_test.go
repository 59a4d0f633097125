package cgroups

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestHostNew checks that New on a layout read once resolves paths as New
// does, and refuses the same bad paths.
func TestHostNew(t *testing.T) {
	hostHierarchies(t)
	h, err := ReadHost()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/berth/test-host-new", "berth/test-host-new"} {
		want, err := New(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := h.New(p)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Host.New %+v, New %+v", p, got, want)
		}
	}
	for _, p := range []string{"", "/", "a/../b", "a\x00b"} {
		if _, err := h.New(p); err == nil {
			t.Errorf("Host.New(%q) accepted a bad path", p)
		}
	}
}

// TestAddOne checks that AddOne writes to one hierarchy only, the one
// without controllers.
func TestAddOne(t *testing.T) {
	dirs := map[string]string{}
	for _, n := range []string{"pids", "name=systemd", "memory"} {
		d := filepath.Join(t.TempDir(), "c")
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		dirs[n] = d
	}
	m := &Manager{Mode: V1, Paths: dirs}
	if err := m.AddOne(4242); err != nil {
		t.Fatal(err)
	}
	for n, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		switch {
		case n == "name=systemd" && (err != nil || string(b) != "4242"):
			t.Errorf("%s: cgroup.procs %q, %v; want the pid", n, b, err)
		case n != "name=systemd" && !os.IsNotExist(err):
			t.Errorf("%s: written too (%q, %v)", n, b, err)
		}
	}
	if err := (&Manager{Mode: V1}).AddOne(1); err == nil {
		t.Error("AddOne without hierarchies succeeded")
	}
}
