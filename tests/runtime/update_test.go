package runtime_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestUpdateWhileRunning changes every limit runc update's flags reach on
// a running container and checks the host's cgroup files.
func TestUpdateWhileRunning(t *testing.T) {
	requireV1(t)
	e := newEnv(t)
	b := newBundle(t, "sleep", "60")
	b.Spec.Linux.Resources = &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(64 << 20)},
		CPU:    &specs.LinuxCPU{Quota: i64(50000), Period: u64(100000), Cpus: "0"},
		Pids:   &specs.LinuxPids{Limit: new(int64(20))},
	}
	id := e.startContainer(b)
	e.mustRun("update", "--memory", "128m", "--memory-swap", "256m", "--memory-reservation", "32m",
		"--cpu-shares", "512", "--cpu-quota", "30000", "--cpu-period", "60000",
		"--cpuset-cpus", "0", "--cpuset-mems", "0", "--pids-limit", "30", id)
	for _, c := range []struct{ ctrl, file, want string }{
		{"memory", "memory.limit_in_bytes", "134217728"},
		{"memory", "memory.memsw.limit_in_bytes", "268435456"},
		{"memory", "memory.soft_limit_in_bytes", "33554432"},
		{"cpu", "cpu.shares", "512"},
		{"cpu", "cpu.cfs_quota_us", "30000"},
		{"cpu", "cpu.cfs_period_us", "60000"},
		{"cpuset", "cpuset.cpus", "0"},
		{"cpuset", "cpuset.mems", "0"},
		{"pids", "pids.max", "30"},
	} {
		if got := hostCgroupFile(t, c.ctrl, id, c.file); got != c.want {
			t.Errorf("after update: %s/%s = %q, want %q", c.ctrl, c.file, got, c.want)
		}
	}
	// Lowering the memory limit below memory+swap works in either order.
	e.mustRun("update", "--memory", "16m", "--memory-swap", "32m", id)
	if got := hostCgroupFile(t, "memory", id, "memory.limit_in_bytes"); got != "16777216" {
		t.Errorf("memory.limit_in_bytes = %q", got)
	}
	// Unlimited.
	e.mustRun("update", "--memory-swap", "-1", "--memory", "-1", "--cpu-quota", "-1", "--pids-limit", "0", id)
	if got := hostCgroupFile(t, "pids", id, "pids.max"); got != "max" {
		t.Errorf("pids.max = %q, want max", got)
	}
	if got := hostCgroupFile(t, "cpu", id, "cpu.cfs_quota_us"); got != "-1" {
		t.Errorf("cpu.cfs_quota_us = %q, want -1", got)
	}
	if st := e.state(id); st["status"] != "running" {
		t.Errorf("status after update: %v", st["status"])
	}
}

func TestUpdateFromResourcesFile(t *testing.T) {
	requireV1(t)
	e := newEnv(t)
	id := e.startContainer(newBundle(t, "sleep", "60"))
	file := filepath.Join(t.TempDir(), "r.json")
	if err := os.WriteFile(file, []byte(`{"pids":{"limit":42},"cpu":{"shares":300}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	e.mustRun("update", "-r", file, id)
	if got := hostCgroupFile(t, "pids", id, "pids.max"); got != "42" {
		t.Errorf("pids.max = %q", got)
	}
	if got := hostCgroupFile(t, "cpu", id, "cpu.shares"); got != "300" {
		t.Errorf("cpu.shares = %q", got)
	}
	// "-" reads stdin.
	stdin := filepath.Join(t.TempDir(), "stdin.json")
	if err := os.WriteFile(stdin, []byte(`{"pids":{"limit":43}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(stdin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, stderr, code := e.runIn(f, "update", "--resources", "-", id); code != 0 {
		t.Fatalf("update -r -: %s", stderr)
	}
	if got := hostCgroupFile(t, "pids", id, "pids.max"); got != "43" {
		t.Errorf("pids.max from stdin = %q", got)
	}
	// A bad file names the flag.
	if err := os.WriteFile(file, []byte(`{"pids":`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := e.run("update", "-r", file, id); code == 0 || !strings.Contains(stderr, "--resources") {
		t.Errorf("update with a broken file: code %d, %q", code, stderr)
	}
}

func TestUpdateBadValues(t *testing.T) {
	requireV1(t)
	e := newEnv(t)
	b := newBundle(t, "sleep", "60")
	b.Spec.Linux.Resources = &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0"}}
	id := e.startContainer(b)
	for _, c := range []struct {
		args  []string
		wants []string
	}{
		{[]string{"--cpuset-cpus", "99"}, []string{`linux.resources.cpu.cpus: "99": invalid cpuset`}},
		{[]string{"--memory", "lots"}, []string{"--memory", "lots"}},
		{[]string{"--cpu-shares", "x"}, []string{"--cpu-shares"}},
		{[]string{"--blkio-weight", "5"}, []string{"--blkio-weight", "between 10 and 1000"}},
		{[]string{"--memory", "64m", "--memory-swap", "32m"}, []string{"linux.resources.memory.swap"}},
	} {
		_, stderr, code := e.run(append(append([]string{"update"}, c.args...), id)...)
		if code == 0 {
			t.Errorf("update %v: succeeded", c.args)
			continue
		}
		for _, w := range c.wants {
			if !strings.Contains(stderr, w) {
				t.Errorf("update %v: error %q does not name %q", c.args, stderr, w)
			}
		}
	}
	if got := hostCgroupFile(t, "cpuset", id, "cpuset.cpus"); got != "0" {
		t.Errorf("cpuset.cpus after a failed update = %q", got)
	}
	if st := e.state(id); st["status"] != "running" {
		t.Errorf("status after failed updates: %v", st["status"])
	}
	e.mustRun("kill", id, "KILL")
	e.waitStatus(id, "stopped")
	if _, stderr, code := e.run("update", "--pids-limit", "5", id); code == 0 || !strings.Contains(stderr, "not running") {
		t.Errorf("update of a stopped container: code %d, %q", code, stderr)
	}
}

// TestUpdatePaused: a paused container can be updated and stays paused.
func TestUpdatePaused(t *testing.T) {
	requireV1(t)
	e := newEnv(t)
	id := e.startContainer(newBundle(t, "sleep", "60"))
	e.mustRun("pause", id)
	e.mustRun("update", "--pids-limit", "7", id)
	if got := hostCgroupFile(t, "pids", id, "pids.max"); got != "7" {
		t.Errorf("pids.max = %q", got)
	}
	if st := e.state(id); st["status"] != "paused" {
		t.Errorf("status = %v, want paused", st["status"])
	}
	e.mustRun("resume", id)
}

// TestUpdateBelowUsage: with checkBeforeUpdate a memory limit below the
// current usage is refused and the limit is left as it was.
func TestUpdateBelowUsage(t *testing.T) {
	requireV1(t)
	e := newEnv(t)
	b := newBundle(t, "sleep", "60")
	b.Spec.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(64 << 20)}}
	id := e.startContainer(b)
	file := filepath.Join(t.TempDir(), "r.json")
	if err := os.WriteFile(file, []byte(`{"memory":{"limit":4096,"checkBeforeUpdate":true}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := e.run("update", "-r", file, id); code == 0 || !strings.Contains(stderr, "linux.resources.memory.limit") || !strings.Contains(stderr, "current usage") {
		t.Errorf("update below usage: code %d, %q", code, stderr)
	}
	if got := hostCgroupFile(t, "memory", id, "memory.limit_in_bytes"); got != "67108864" {
		t.Errorf("memory.limit_in_bytes = %q after a refused update", got)
	}
}
