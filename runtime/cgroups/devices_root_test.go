package cgroups

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// testCgroup makes berth-test-<pid>-<name> under the hierarchy mounted at
// mnt, or skips; it is removed when the test ends.
func testCgroup(t *testing.T, mnt, name string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := os.Stat(mnt); err != nil {
		t.Skipf("no hierarchy at %s: %v", mnt, err)
	}
	dir := filepath.Join(mnt, fmt.Sprintf("berth-test-%d-%s", os.Getpid(), name))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("create test cgroup: %v", err)
	}
	t.Cleanup(func() {
		if err := removeCgroup(dir); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return dir
}

// probe starts a shell that waits for a line on stdin and then reports
// whether it can open /dev/null and /dev/zero for reading. It returns the
// pid (to place in a cgroup), a function that lets it run and returns its
// output. The process is always reaped when the test ends.
func probe(t *testing.T) (int, func() string) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c",
		`read go; (: </dev/null) && echo null-ok; (: </dev/zero) && echo zero-ok; exit 0`)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start probe: %v", err)
	}
	done := false
	t.Cleanup(func() {
		if !done {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd.Process.Pid, func() string {
		if _, err := io.WriteString(in, "go\n"); err != nil {
			t.Fatalf("release probe: %v", err)
		}
		in.Close()
		err := cmd.Wait()
		done = true
		if err != nil {
			t.Fatalf("probe: %v: %s", err, out.String())
		}
		return out.String()
	}
}

// nullNotZero allows /dev/null and denies /dev/zero, without the defaults.
func nullNotZero(t *testing.T) []deviceRule {
	return mustRules(t,
		specs.LinuxDeviceCgroup{Allow: false, Access: "rwm"},
		specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "rwm"},
		specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64(1), Minor: i64(5), Access: "rwm"},
		specs.LinuxDeviceCgroup{Allow: false, Type: "c", Major: i64(1), Minor: i64(5), Access: "r"},
	)
}

func checkProbe(t *testing.T, out string) {
	t.Helper()
	if !strings.Contains(out, "null-ok") || strings.Contains(out, "zero-ok") {
		t.Errorf("probe output %q: want /dev/null allowed and /dev/zero denied", out)
	}
}

func TestDevicesV1Root(t *testing.T) {
	dir := testCgroup(t, "/sys/fs/cgroup/devices", "v1")
	if _, err := os.Stat(filepath.Join(dir, "devices.list")); err != nil {
		t.Skipf("not a v1 devices hierarchy: %v", err)
	}
	m := &Manager{Mode: V1, Paths: map[string]string{"devices": dir}}
	rules := append(append([]specs.LinuxDeviceCgroup{}, specDefaultDevices...),
		specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: i64(10), Minor: i64(200), Access: "rw"})
	if err := m.setDevices(rules); err != nil {
		t.Fatalf("setDevices: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "devices.list"))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Fields(strings.ReplaceAll(string(b), "\n", ","))
	gotSet := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		gotSet[l] = true
	}
	for _, want := range []string{"c 1:3 rwm", "c 1:5 rwm", "c 136:* rwm", "c 5:2 rwm", "c *:* m", "b *:* m", "c 10:200 rw"} {
		if !gotSet[want] {
			t.Errorf("devices.list lacks %q: %q", want, got)
		}
	}
	if gotSet["a *:* rwm"] || len(gotSet) != 11 {
		t.Errorf("devices.list has %d entries, want the 11 allowed: %q", len(gotSet), string(b))
	}

	// Enforcement, on a second cgroup with only the probe in it.
	dir2 := testCgroup(t, "/sys/fs/cgroup/devices", "v1probe")
	if err := setDevicesV1(dir2, nullNotZero(t)); err != nil {
		t.Fatalf("setDevicesV1: %v", err)
	}
	pid, run := probe(t)
	if err := writeFile(dir2, "cgroup.procs", strconv.Itoa(pid)); err != nil {
		t.Fatal(err)
	}
	checkProbe(t, run())
}

// nil (what update passes) leaves the rules alone; an empty list denies
// all but the defaults.
func TestDevicesV1RootNilKeeps(t *testing.T) {
	dir := testCgroup(t, "/sys/fs/cgroup/devices", "v1nil")
	m := &Manager{Mode: V1, Paths: map[string]string{"devices": dir}}
	list := func() string {
		b, err := os.ReadFile(filepath.Join(dir, "devices.list"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	if err := m.setDevices(nil); err != nil {
		t.Fatal(err)
	}
	if l := list(); l != "a *:* rwm" {
		t.Fatalf("nil rules changed a fresh cgroup: %q", l)
	}
	if err := m.setDevices([]specs.LinuxDeviceCgroup{}); err != nil {
		t.Fatal(err)
	}
	want := list()
	if strings.Contains(want, "a *:*") || !strings.Contains(want, "c 1:3 rwm") {
		t.Fatalf("empty rules: devices.list %q, want the defaults only", want)
	}
	if err := m.setDevices(nil); err != nil {
		t.Fatal(err)
	}
	if l := list(); l != want {
		t.Fatalf("nil rules changed the list %q to %q", want, l)
	}
}

func TestDevicesV1RootRejected(t *testing.T) {
	dir := testCgroup(t, "/sys/fs/cgroup/devices", "v1bad")
	m := &Manager{Mode: V1, Paths: map[string]string{"devices": dir}}
	err := m.setDevices([]specs.LinuxDeviceCgroup{{Allow: true, Type: "c", Access: "rwx"}})
	if err == nil || !strings.Contains(err.Error(), "linux.resources.devices[0]") {
		t.Fatalf("bad access: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "devices.list"))
	if strings.TrimSpace(string(b)) != "a *:* rwm" {
		t.Errorf("a rejected rule list changed the cgroup: %q", b)
	}
}

// unifiedDir returns the cgroup2 mount this host has for BPF tests.
func unifiedDir(t *testing.T) string {
	mode, err := HostMode("/sys/fs/cgroup")
	if err != nil {
		t.Skip(err)
	}
	if mode == V2 {
		return "/sys/fs/cgroup"
	}
	return "/sys/fs/cgroup/unified"
}

func attachedCount(t *testing.T, dir string) int {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	res, err := link.QueryPrograms(link.QueryOptions{Target: fd, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		t.Fatal(err)
	}
	return len(res.Programs)
}

func TestDevicesV2Root(t *testing.T) {
	dir := testCgroup(t, unifiedDir(t), "v2")
	if err := setDevicesV2(dir, nullNotZero(t)); err != nil {
		t.Fatalf("setDevicesV2: %v", err)
	}
	if n := attachedCount(t, dir); n != 1 {
		t.Fatalf("%d device filters attached, want 1", n)
	}
	pid, run := probe(t)
	if err := writeFile(dir, "cgroup.procs", strconv.Itoa(pid)); err != nil {
		t.Fatal(err)
	}
	checkProbe(t, run())
}

// An update replaces the filter (one stays attached), the Manager path
// attaches the spec's rules with the defaults, and removeDeviceFilters
// leaves none.
func TestDevicesV2RootReplace(t *testing.T) {
	dir := testCgroup(t, unifiedDir(t), "v2replace")
	m := &Manager{Mode: V2, Paths: map[string]string{"": dir}}
	for i := 0; i < 3; i++ {
		if err := m.setDevices(specDefaultDevices); err != nil {
			t.Fatalf("setDevices %d: %v", i, err)
		}
		if n := attachedCount(t, dir); n != 1 {
			t.Fatalf("after update %d: %d device filters attached, want 1", i, n)
		}
	}
	// The spec's deny-all with the defaults: both devices open.
	pid, run := probe(t)
	if err := writeFile(dir, "cgroup.procs", strconv.Itoa(pid)); err != nil {
		t.Fatal(err)
	}
	if out := run(); !strings.Contains(out, "null-ok") || !strings.Contains(out, "zero-ok") {
		t.Errorf("default devices denied: %q", out)
	}
	if err := removeDeviceFilters(dir); err != nil {
		t.Fatal(err)
	}
	if n := attachedCount(t, dir); n != 0 {
		t.Fatalf("%d device filters left after removeDeviceFilters", n)
	}
}

// A hybrid host's Manager (Mode V1) without a devices hierarchy falls back
// to the unified one.
func TestDevicesHybridFallbackRoot(t *testing.T) {
	dir := testCgroup(t, unifiedDir(t), "v2hybrid")
	m := &Manager{Mode: V1, Paths: map[string]string{"unified": dir}}
	if err := m.setDevices(specDefaultDevices); err != nil {
		t.Fatalf("setDevices: %v", err)
	}
	if n := attachedCount(t, dir); n != 1 {
		t.Fatalf("%d device filters attached, want 1", n)
	}
}
