package cgroups

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// unifiedTestManager returns a v2 Manager on a fresh cgroup of the unified
// hierarchy (the whole tree on a v2 host, /sys/fs/cgroup/unified on a
// hybrid one), or skips. The cgroup is removed when the test ends.
func unifiedTestManager(t *testing.T, name string) *Manager {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	mnt := "/sys/fs/cgroup"
	if mode, err := HostMode(mnt); err != nil {
		t.Skip(err)
	} else if mode == V1 {
		mnt = "/sys/fs/cgroup/unified"
	}
	if !isCgroup2(mnt) {
		t.Skipf("no cgroup2 hierarchy at %s", mnt)
	}
	dir := filepath.Join(mnt, fmt.Sprintf("berth-restest-%d-%s", os.Getpid(), name))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("create test cgroup: %v", err)
	}
	t.Cleanup(func() {
		if err := removeCgroup(dir); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return &Manager{Mode: V2, Paths: map[string]string{"": dir}}
}

// sleeper starts a sleep in the cgroup dir; it is killed and reaped when
// the test ends (before the cgroup is removed).
func sleeper(t *testing.T, dir string) int {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	if err := writeFile(dir, "cgroup.procs", fmt.Sprint(cmd.Process.Pid)); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// TestFreezeV2Root drives cgroup.freeze for real, on the unified hierarchy.
func TestFreezeV2Root(t *testing.T) {
	m := unifiedTestManager(t, "freeze")
	dir := m.Paths[""]
	if !exists(dir, "cgroup.freeze") {
		t.Skip("no cgroup.freeze")
	}
	sleeper(t, dir)
	if err := m.Freeze(); err != nil {
		t.Fatalf("Freeze: %v", err)
	}
	if f, err := m.Frozen(); err != nil || !f {
		t.Errorf("Frozen after Freeze: %v, %v", f, err)
	}
	if ev, _ := readKeyValues(dir, "cgroup.events"); ev["frozen"] != 1 {
		t.Errorf("cgroup.events: %v", ev)
	}
	if err := m.Thaw(); err != nil {
		t.Fatalf("Thaw: %v", err)
	}
	if f, err := m.Frozen(); err != nil || f {
		t.Errorf("Frozen after Thaw: %v, %v", f, err)
	}
}

// TestSetV2Root applies what the unified hierarchy of this host has, and
// checks that a limit of an absent controller names its field.
func TestSetV2Root(t *testing.T) {
	m := unifiedTestManager(t, "set")
	dir := m.Paths[""]
	avail, err := readString(filepath.Dir(dir), "cgroup.controllers")
	if err != nil {
		t.Fatal(err)
	}
	ctrls := strings.Fields(avail)
	if contains(ctrls, "hugetlb") && exists("/sys/kernel/mm/hugepages", "hugepages-2048kB") {
		err := m.Update(&specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 2 << 20}}})
		if err != nil {
			t.Fatalf("Set hugetlb: %v", err)
		}
		if got, _ := readString(dir, "hugetlb.2MB.max"); got != "2097152" {
			t.Errorf("hugetlb.2MB.max = %q", got)
		}
		err = m.Update(&specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "3MB", Limit: 1}}})
		if err == nil || !strings.Contains(err.Error(), "linux.resources.hugepageLimits[0]") {
			t.Errorf("unknown page size: %v", err)
		}
	}
	limit := int64(64 << 20)
	for _, c := range []struct {
		ctrl  string
		r     specs.LinuxResources
		field string
	}{
		{"memory", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}}, "linux.resources.memory"},
		{"pids", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: new(int64(5))}}, "linux.resources.pids.limit"},
		{"cpuset", specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0"}}, "linux.resources.cpu.cpus"},
	} {
		if contains(ctrls, c.ctrl) {
			continue
		}
		err := m.Update(&c.r)
		if err == nil || !strings.Contains(err.Error(), c.field) || !strings.Contains(err.Error(), "not available") {
			t.Errorf("%s absent: %v, want an error naming %s", c.ctrl, err, c.field)
		}
	}
	// unified keys: a file that does not exist, and a path, are refused.
	for _, k := range []string{"nosuch.file", "../escape", "a/b"} {
		err := m.Update(&specs.LinuxResources{Unified: map[string]string{k: "1"}})
		if err == nil || !strings.Contains(err.Error(), "linux.resources.unified."+k) {
			t.Errorf("unified key %q: %v", k, err)
		}
	}
	// The network classes do not exist on v2.
	id := uint32(1)
	if err := m.Update(&specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: &id}}); err == nil || !strings.Contains(err.Error(), "linux.resources.network") {
		t.Errorf("network on v2: %v", err)
	}
}

// TestStatsV2Root reads the statistics the unified hierarchy has here.
func TestStatsV2Root(t *testing.T) {
	m := unifiedTestManager(t, "stats")
	sleeper(t, m.Paths[""])
	s, err := m.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if s.Hugetlb == nil {
		t.Error("Stats: nil hugetlb map")
	}
}
