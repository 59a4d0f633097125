package cgroups

import (
	"path/filepath"
	"strings"
	"testing"
)

// hostHierarchies returns what New sees on this host, or skips.
func hostHierarchies(t *testing.T) (Mode, []hierarchy, map[string]string) {
	t.Helper()
	mode, err := HostMode("/sys/fs/cgroup")
	if err != nil {
		t.Skipf("no cgroup filesystem: %v", err)
	}
	hs, err := hierarchies(mode, nil)
	if err != nil {
		t.Skipf("no cgroup hierarchy: %v", err)
	}
	own, err := ownCgroups()
	if err != nil {
		t.Fatal(err)
	}
	return mode, hs, own
}

// New only computes paths, so these run without root and create nothing.
func TestNewAbsolutePath(t *testing.T) {
	mode, hs, _ := hostHierarchies(t)
	m, err := New("/berth/test-new-abs")
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if m.Mode != mode {
		t.Errorf("mode %s, want %s", m.Mode, mode)
	}
	if len(m.Paths) != len(hs) {
		t.Errorf("%d paths for %d hierarchies: %v", len(m.Paths), len(hs), m.Paths)
	}
	for _, h := range hs {
		want := filepath.Join(h.mountpoint, "berth/test-new-abs")
		if got := m.Path(h.name); got != want {
			t.Errorf("hierarchy %q: path %q, want %q", h.name, got, want)
		}
	}
}

func TestNewRelativePath(t *testing.T) {
	_, hs, own := hostHierarchies(t)
	m, err := New("berth/test-new-rel")
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for _, h := range hs {
		base := relativeTo(own[h.name], h.root)
		want := filepath.Join(h.mountpoint, base, "berth/test-new-rel")
		if got := m.Path(h.name); got != want {
			t.Errorf("hierarchy %q (own cgroup %q): path %q, want %q", h.name, own[h.name], got, want)
		}
	}
}

func TestNewCleansPath(t *testing.T) {
	_, hs, _ := hostHierarchies(t)
	m, err := New("//berth///./x/")
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for _, h := range hs {
		if want := filepath.Join(h.mountpoint, "berth/x"); m.Path(h.name) != want {
			t.Errorf("hierarchy %q: path %q, want %q", h.name, m.Path(h.name), want)
		}
	}
}

func TestNewRejects(t *testing.T) {
	for _, p := range []string{
		"",
		"..",
		"../escape",
		"/../../etc",
		"/berth/../../../etc",
		"berth/..",
		"a/../../b",
		"/berth/x\x00y",
		"\x00",
		"/", "//", ".", "./", "/./.",
	} {
		if m, err := New(p); err == nil {
			t.Errorf("New(%q) accepted: %v", p, m.Paths)
		}
	}
}

// Every path New accepts stays inside its hierarchy's mount.
func TestNewStaysInHierarchy(t *testing.T) {
	_, hs, _ := hostHierarchies(t)
	mounts := map[string]string{}
	for _, h := range hs {
		mounts[h.name] = h.mountpoint
	}
	for _, p := range []string{"/a", "a", "./a", "/a/./b", "a//b", ".a", "...", "/.../x", "-", "a b", "/a\nb"} {
		m, err := New(p)
		if err != nil {
			continue
		}
		for name, dir := range m.Paths {
			mnt, ok := mounts[name]
			if !ok {
				t.Errorf("New(%q): unknown hierarchy %q", p, name)
				continue
			}
			if !strings.HasPrefix(dir, mnt+"/") {
				t.Errorf("New(%q): hierarchy %q path %q is not below %q", p, name, dir, mnt)
			}
		}
	}
}

func TestProcsDirPrefersUnified(t *testing.T) {
	m := &Manager{Mode: V1, Paths: map[string]string{"memory": "/m", "unified": "/u", "pids": "/p"}}
	if d := m.procsDir(); d != "/u" {
		t.Errorf("procsDir = %q, want the unified hierarchy", d)
	}
	m = &Manager{Mode: V1, Paths: map[string]string{"cpu": "/c"}}
	if d := m.procsDir(); d != "/c" {
		t.Errorf("procsDir = %q, want the only hierarchy", d)
	}
	if d := (&Manager{}).procsDir(); d != "" {
		t.Errorf("procsDir of an empty manager = %q", d)
	}
	if _, err := (&Manager{}).Procs(); err == nil {
		t.Error("Procs of an empty manager succeeded")
	}
}

func TestHostModeErrors(t *testing.T) {
	if _, err := HostMode("/nonexistent/cgroup"); err == nil || !strings.Contains(err.Error(), "/nonexistent/cgroup") {
		t.Fatalf("HostMode of a missing path: %v", err)
	}
}

func TestRelativeTo(t *testing.T) {
	for _, c := range []struct{ p, root, want string }{
		{"/a/b", "/", "/a/b"},
		{"/a/b", "/a", "/b"},
		{"/a", "/a", "/"},
		{"/ab/c", "/a", "/ab/c"}, // not under /a: a path boundary matters
	} {
		if got := relativeTo(c.p, c.root); got != c.want {
			t.Errorf("relativeTo(%q, %q) = %q, want %q", c.p, c.root, got, c.want)
		}
	}
}
