package runtime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// requireV1 skips a test written for this host's cgroup v1 layout.
func requireV1(t *testing.T) {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil || st.Type == unix.CGROUP2_SUPER_MAGIC {
		t.Skip("needs a cgroup v1 host")
	}
	for _, c := range []string{"memory", "cpu", "cpuacct", "cpuset", "pids", "blkio", "freezer"} {
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", c, "cgroup.procs")); err != nil {
			t.Skipf("needs the v1 %s controller mounted at /sys/fs/cgroup/%s", c, c)
		}
	}
}

// hostCgroupFile reads a file of container id's cgroup in the v1
// hierarchy ctrl (or "unified") on the host.
func hostCgroupFile(t *testing.T, ctrl, id, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", ctrl, "berth", id, file))
	if err != nil {
		t.Fatalf("read host cgroup file: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// wholeDisk returns the major:minor of a block device that is a whole
// disk (throttles refuse partitions), or skips.
func wholeDisk(t *testing.T) (int64, int64) {
	t.Helper()
	ents, _ := os.ReadDir("/sys/dev/block")
	for _, e := range ents {
		dir := filepath.Join("/sys/dev/block", e.Name())
		if _, err := os.Stat(filepath.Join(dir, "partition")); err == nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "queue")); err != nil {
			continue
		}
		var maj, min int64
		if _, err := fmt.Sscanf(e.Name(), "%d:%d", &maj, &min); err == nil {
			return maj, min
		}
	}
	t.Skip("no whole-disk block device")
	return 0, 0
}

func i64(v int64) *int64    { return &v }
func u64(v uint64) *uint64  { return &v }
func boolp(v bool) *bool    { return &v }
func u16(v uint16) *uint16  { return &v }
func u32p(v uint32) *uint32 { return &v }

// TestCgroupLimitsV1 runs one container per controller and checks that the
// container sees the limit in its own /sys/fs/cgroup (or, for what is not
// visible inside, the host's cgroup file holds it).
func TestCgroupLimitsV1(t *testing.T) {
	requireV1(t)
	maj, min := wholeDisk(t)
	dev := fmt.Sprintf("%d:%d", maj, min)
	type check struct{ ctrl, file, want string }
	for _, tc := range []struct {
		name   string
		r      specs.LinuxResources
		inside []check // read by the container from its own cgroup
		host   []check // read on the host
	}{
		{"memory", specs.LinuxResources{Memory: &specs.LinuxMemory{
			Limit: i64(64 << 20), Reservation: i64(32 << 20), Swap: i64(128 << 20),
			Swappiness: u64(10), KernelTCP: i64(16 << 20), DisableOOMKiller: boolp(true),
		}}, []check{
			{"memory", "memory.limit_in_bytes", "67108864"},
			{"memory", "memory.soft_limit_in_bytes", "33554432"},
			{"memory", "memory.memsw.limit_in_bytes", "134217728"},
			{"memory", "memory.swappiness", "10"},
			{"memory", "memory.kmem.tcp.limit_in_bytes", "16777216"},
		}, []check{{"memory", "memory.oom_control", "oom_kill_disable 1"}}},
		{"cpu", specs.LinuxResources{CPU: &specs.LinuxCPU{
			Shares: u64(512), Quota: i64(25000), Period: u64(50000), Burst: u64(1000), Idle: i64(0),
		}}, []check{
			{"cpu", "cpu.shares", "512"},
			{"cpu", "cpu.cfs_quota_us", "25000"},
			{"cpu", "cpu.cfs_period_us", "50000"},
			{"cpu", "cpu.cfs_burst_us", "1000"},
		}, nil},
		{"cpuset", specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0", Mems: "0"}}, []check{
			{"cpuset", "cpuset.cpus", "0"},
			{"cpuset", "cpuset.mems", "0"},
		}, nil},
		{"pids", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: new(int64(20))}}, []check{
			{"pids", "pids.max", "20"},
		}, nil},
		{"blkio", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
			ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: maj, Minor: min}, Rate: 1 << 20}},
			ThrottleWriteBpsDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: maj, Minor: min}, Rate: 2 << 20}},
			ThrottleReadIOPSDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: maj, Minor: min}, Rate: 100}},
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: maj, Minor: min}, Rate: 200}},
		}}, []check{
			{"blkio", "blkio.throttle.read_bps_device", dev + " 1048576"},
			{"blkio", "blkio.throttle.write_bps_device", dev + " 2097152"},
			{"blkio", "blkio.throttle.read_iops_device", dev + " 100"},
			{"blkio", "blkio.throttle.write_iops_device", dev + " 200"},
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			var script []string
			for _, c := range tc.inside {
				script = append(script, fmt.Sprintf("echo %s=$(cat /sys/fs/cgroup/%s/%s)", c.file, c.ctrl, c.file))
			}
			b := newBundle(t, "sh", "-c", strings.Join(script, "; ")+"; sleep 60")
			r := tc.r
			b.Spec.Linux.Resources = &r
			id := e.create(b)
			e.mustRun("start", id)
			e.waitStatus(id, "running")
			for _, c := range tc.host {
				if got := hostCgroupFile(t, c.ctrl, id, c.file); !strings.Contains(got, c.want) {
					t.Errorf("host %s/%s: %q, want %q", c.ctrl, c.file, got, c.want)
				}
			}
			for _, c := range tc.inside {
				if got := hostCgroupFile(t, c.ctrl, id, c.file); got != c.want {
					t.Errorf("host %s/%s: %q, want %q", c.ctrl, c.file, got, c.want)
				}
			}
			e.mustRun("delete", "--force", id)
			cgroupGone(t, id)
		})
	}
}

// TestCgroupLimitsSeenInside checks the container reads its limits from
// its own /sys/fs/cgroup.
func TestCgroupLimitsSeenInside(t *testing.T) {
	requireV1(t)
	e := newEnv(t)
	b := newBundle(t, "sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpuset/cpuset.cpus")
	b.Spec.Linux.Resources = &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(48 << 20)},
		Pids:   &specs.LinuxPids{Limit: new(int64(17))},
		CPU:    &specs.LinuxCPU{Shares: u64(256), Cpus: "0"},
	}
	out, stderr, code := e.runContainer(b)
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	if got := strings.Fields(out); strings.Join(got, " ") != "50331648 17 256 0" {
		t.Errorf("limits inside the container: %q", out)
	}
}

// TestHugetlbLimit sets a huge page limit; on this hybrid host hugetlb
// lives in the unified hierarchy.
func TestHugetlbLimit(t *testing.T) {
	requireV1(t)
	if _, err := os.Stat("/sys/kernel/mm/hugepages/hugepages-2048kB"); err != nil {
		t.Skip("no 2MB huge pages")
	}
	v1 := true
	if _, err := os.Stat("/sys/fs/cgroup/hugetlb/cgroup.procs"); err != nil {
		v1 = false
		b, err := os.ReadFile("/sys/fs/cgroup/unified/cgroup.controllers")
		if err != nil || !strings.Contains(string(b), "hugetlb") {
			t.Skip("no hugetlb controller")
		}
	}
	e := newEnv(t)
	b := newBundle(t, "sleep", "60")
	b.Spec.Linux.Resources = &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}}}
	id := e.create(b)
	if v1 {
		if got := hostCgroupFile(t, "hugetlb", id, "hugetlb.2MB.limit_in_bytes"); got != "4194304" {
			t.Errorf("hugetlb.2MB.limit_in_bytes = %q", got)
		}
	} else if got := hostCgroupFile(t, "unified", id, "hugetlb.2MB.max"); got != "4194304" {
		t.Errorf("hugetlb.2MB.max = %q", got)
	}
	e.mustRun("delete", id)
	cgroupGone(t, id)
}

// TestUnapplicableLimits: a limit the host cannot apply is a clear create
// error naming the field, and nothing is left behind.
func TestUnapplicableLimits(t *testing.T) {
	requireV1(t)
	for _, tc := range []struct {
		name  string
		r     specs.LinuxResources
		wants []string
	}{
		{"invalid cpuset", specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "99"}}, []string{`linux.resources.cpu.cpus: "99": invalid cpuset`}},
		{"invalid mems", specs.LinuxResources{CPU: &specs.LinuxCPU{Mems: "7"}}, []string{`linux.resources.cpu.mems: "7": invalid cpuset`}},
		{"missing device", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{
			{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 4095, Minor: 4095}, Rate: 1},
		}}}, []string{"linux.resources.blockIO.throttleReadBpsDevice[0]", "4095:4095 does not exist"}},
		{"absent net_cls", specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: u32p(0x100001)}}, []string{"linux.resources.network.classID", "net_cls", "not available"}},
		{"absent net_prio", specs.LinuxResources{Network: &specs.LinuxNetwork{Priorities: []specs.LinuxInterfacePriority{{Name: "lo", Priority: 1}}}}, []string{"linux.resources.network.priorities", "net_prio"}},
		{"unified on v1", specs.LinuxResources{Unified: map[string]string{"memory.high": "1000000"}}, []string{"linux.resources.unified", "cgroup v1"}},
		{"unknown huge page size", specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "3MB", Limit: 1}}}, []string{"linux.resources.hugepageLimits[0]", "3MB"}},
		{"swappiness", specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: u64(200)}}, []string{"linux.resources.memory.swappiness", "200"}},
		{"swap below limit", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(64 << 20), Swap: i64(32 << 20)}}, []string{"linux.resources.memory.swap"}},
		{"cpu shares out of range", specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(1)}}, []string{"linux.resources.cpu.shares"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			b := newBundle(t, "true")
			r := tc.r
			b.Spec.Linux.Resources = &r
			e.expectCreateFail(b.save(t), tc.wants...)
		})
	}
}

// counterBundle is a container that bumps a counter in /tmp/c of its own
// rootfs every 10 ms; it returns the bundle and the counter's host path.
// The counter is replaced by a rename, so a container frozen at any point
// leaves a whole number there.
func counterBundle(t *testing.T) (*bundle, string) {
	b := newBundle(t, "sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /tmp/c.new; mv /tmp/c.new /tmp/c; sleep 0.01; done")
	rootfs := b.privateRootfs(t)
	return b, filepath.Join(rootfs, "tmp/c")
}

func readCounter(t *testing.T, path string) int {
	t.Helper()
	for i := 0; i < 100; i++ {
		b, err := os.ReadFile(path)
		if n, cerr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && cerr == nil {
			return n
		}
		time.Sleep(10 * time.Millisecond) // mid-write, or not yet written
	}
	t.Fatalf("counter %s never readable", path)
	return 0
}

func TestPauseResume(t *testing.T) {
	requireV1(t)
	e := newEnv(t)
	b, counter := counterBundle(t)
	id := e.startContainer(b)
	readCounter(t, counter)

	e.mustRun("pause", id)
	if st := e.state(id); st["status"] != "paused" {
		t.Fatalf("state after pause: %v", st["status"])
	}
	if got := hostCgroupFile(t, "freezer", id, "freezer.state"); got != "FROZEN" {
		t.Errorf("freezer.state = %q", got)
	}
	n1 := readCounter(t, counter)
	time.Sleep(300 * time.Millisecond)
	if n2 := readCounter(t, counter); n2 != n1 {
		t.Errorf("counter advanced while paused: %d -> %d", n1, n2)
	}
	if _, stderr, code := e.run("pause", id); code == 0 || !strings.Contains(stderr, "paused") {
		t.Errorf("pause of a paused container: code %d, %q", code, stderr)
	}
	if _, stderr, code := e.run("kill", id); code == 0 || !strings.Contains(stderr, "paused") {
		t.Errorf("kill of a paused container: code %d, %q", code, stderr)
	}
	if _, stderr, code := e.run("exec", id, "true"); code == 0 || !strings.Contains(stderr, "paused") {
		t.Errorf("exec in a paused container: code %d, %q", code, stderr)
	}
	if _, stderr, code := e.run("delete", id); code == 0 || !strings.Contains(stderr, "paused") {
		t.Errorf("delete of a paused container: code %d, %q", code, stderr)
	}
	// Stats still read while paused.
	e.mustRun("events", "--stats", id)

	e.mustRun("resume", id)
	if st := e.state(id); st["status"] != "running" {
		t.Fatalf("state after resume: %v", st["status"])
	}
	deadline := time.Now().Add(10 * time.Second)
	for readCounter(t, counter) == n1 {
		if time.Now().After(deadline) {
			t.Fatal("counter does not advance after resume")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, stderr, code := e.run("resume", id); code == 0 || !strings.Contains(stderr, "not paused") {
		t.Errorf("resume of a running container: code %d, %q", code, stderr)
	}

	// delete --force of a paused container thaws and kills it.
	pid := e.pid(id)
	e.mustRun("pause", id)
	e.mustRun("delete", "--force", id)
	waitProcessGone(t, pid)
	e.assertNothingLeft(id, "")
}

// eventsData decodes one events line and checks its envelope.
func eventsData(t *testing.T, line, id, typ string) map[string]any {
	t.Helper()
	var ev struct {
		Type string         `json:"type"`
		ID   string         `json:"id"`
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		t.Fatalf("events line %q: %v", line, err)
	}
	if ev.Type != typ || ev.ID != id {
		t.Fatalf("events line %q: want type %s, id %s", line, typ, id)
	}
	return ev.Data
}

func num(t *testing.T, m map[string]any, path ...string) float64 {
	t.Helper()
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("stats: %s: not an object in %v", strings.Join(path, "."), m)
		}
		v = mm[p]
	}
	f, _ := v.(float64)
	return f
}

func TestEventsStats(t *testing.T) {
	requireV1(t)
	e := newEnv(t)
	b := newBundle(t, "sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 60")
	b.Spec.Linux.Resources = &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(64 << 20)},
		Pids:   &specs.LinuxPids{Limit: new(int64(20))},
		CPU:    &specs.LinuxCPU{Quota: i64(50000), Period: u64(100000)},
	}
	id := e.startContainer(b)
	time.Sleep(200 * time.Millisecond)
	out := e.mustRun("events", "--stats", id)
	if strings.Count(out, "\n") != 1 {
		t.Fatalf("events --stats: want one line, got %q", out)
	}
	d := eventsData(t, strings.TrimSpace(out), id, "stats")
	if got := num(t, d, "memory", "usage", "limit"); got != 64<<20 {
		t.Errorf("memory.usage.limit = %v", got)
	}
	if num(t, d, "memory", "usage", "usage") <= 0 || num(t, d, "memory", "usage", "max") <= 0 {
		t.Errorf("memory usage/max missing: %v", d["memory"])
	}
	if _, ok := d["memory"].(map[string]any)["usage"].(map[string]any)["failcnt"]; !ok {
		t.Errorf("memory.usage.failcnt missing: %v", d["memory"])
	}
	if got := num(t, d, "pids", "current"); got < 1 || got > 20 {
		t.Errorf("pids.current = %v", got)
	}
	if got := num(t, d, "pids", "limit"); got != 20 {
		t.Errorf("pids.limit = %v", got)
	}
	if num(t, d, "cpu", "usage", "total") <= 0 {
		t.Errorf("cpu.usage.total missing: %v", d["cpu"])
	}
	if pc, _ := d["cpu"].(map[string]any)["usage"].(map[string]any)["percpu"].([]any); len(pc) == 0 {
		t.Errorf("cpu.usage.percpu missing: %v", d["cpu"])
	}
	if num(t, d, "cpu", "throttling", "periods") <= 0 {
		t.Errorf("cpu.throttling.periods missing with a quota: %v", d["cpu"])
	}
	if _, ok := d["blkio"]; !ok {
		t.Errorf("blkio missing: %v", d)
	}
	e.mustRun("delete", "--force", id)
	if _, stderr, code := e.run("events", "--stats", id); code == 0 || !strings.Contains(stderr, "does not exist") {
		t.Errorf("events --stats of a deleted container: code %d, %q", code, stderr)
	}
}

// TestEventsStream reads a few stats events from the stream, then stops it.
func TestEventsStream(t *testing.T) {
	requireV1(t)
	e := newEnv(t)
	id := e.startContainer(newBundle(t, "sleep", "60"))
	outPath := filepath.Join(t.TempDir(), "events")
	outf, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer outf.Close()
	cmd := e.command("events", "--interval", "100ms", id)
	cmd.Stdout = outf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	var lines []string
	for len(lines) < 3 {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("events stream: %d lines in 10s", len(lines))
		}
		time.Sleep(50 * time.Millisecond)
		b, _ := os.ReadFile(outPath)
		lines = strings.Split(strings.TrimSpace(string(b)), "\n")
		if lines[0] == "" {
			lines = nil
		}
	}
	for _, l := range lines[:3] {
		d := eventsData(t, l, id, "stats")
		if num(t, d, "pids", "current") < 1 {
			t.Errorf("stream stats without pids: %s", l)
		}
	}
	// The stream ends by itself once the container stops.
	e.mustRun("kill", id, "KILL")
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("events stream after the container stopped: %v", err)
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Error("events stream did not end when the container stopped")
	}
}

// TestOOMKill: a container exceeding its memory limit is OOM-killed alone,
// and events reports the OOM.
func TestOOMKill(t *testing.T) {
	requireV1(t)
	e := newEnv(t)
	// tail buffers its input looking for newlines; /dev/zero has none.
	b := newBundle(t, "sh", "-c", "sleep 1; exec tail /dev/zero")
	b.Spec.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(32 << 20), Swap: i64(32 << 20)}}
	// A host process beside the container must survive.
	bystander := exec.Command("sleep", "60")
	if err := bystander.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = bystander.Process.Kill()
		_ = bystander.Wait()
	})
	id := e.startContainer(b)
	outPath := filepath.Join(t.TempDir(), "events")
	outf, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer outf.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "--root", e.root, "events", "--interval", "100ms", id)
	cmd.Stdout = outf
	if err := cmd.Run(); err != nil {
		t.Fatalf("events: %v", err)
	}
	out, _ := os.ReadFile(outPath)
	var oom bool
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.Contains(l, `"type":"oom"`) {
			eventsData(t, l, id, "oom")
			oom = true
		}
	}
	if !oom {
		t.Errorf("events reported no OOM: %s", out)
	}
	if st := e.state(id); st["status"] != "stopped" || st["oomKilled"] != true {
		t.Errorf("state after the OOM kill: status %v, oomKilled %v", st["status"], st["oomKilled"])
	}
	if got := hostCgroupFile(t, "memory", id, "memory.oom_control"); !strings.Contains(got, "oom_kill 1") {
		t.Errorf("memory.oom_control: %q", got)
	}
	if !processRunning(bystander.Process.Pid) {
		t.Error("a host process died with the container's OOM")
	}
	e.mustRun("delete", id)
	cgroupGone(t, id)
}

// TestForkBombPidsLimit: a bounded fork bomb in a container with pids.max
// 20 hits the limit, and the host stays responsive.
func TestForkBombPidsLimit(t *testing.T) {
	requireV1(t)
	e := newEnv(t)
	// The init does not fork, so it outlives the bomb; the shell that
	// forks exits at its first failed fork, its children stay.
	b := newBundle(t, "sleep", "60")
	b.Spec.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: new(int64(20))}}
	id := e.startContainer(b)
	e.mustRun("exec", "-d", id, "sh", "-c", `i=0; while [ $i -lt 200 ]; do sh -c "sleep 30" 2>/dev/null & i=$((i+1)); done`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		ev := hostCgroupFile(t, "pids", id, "pids.events")
		if !strings.HasSuffix(ev, " 0") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pids limit never hit: pids.events %q", ev)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cur, _ := strconv.Atoi(hostCgroupFile(t, "pids", id, "pids.current"))
	if cur > 20 {
		t.Errorf("pids.current = %d above the limit 20", cur)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := exec.CommandContext(ctx, "true").Run(); err != nil {
		t.Errorf("host could not run a process beside the fork bomb: %v", err)
	}
	e.mustRun("delete", "--force", id)
	e.assertNothingLeft(id, "")
}

// TestBlkioWeight sets the proportional I/O weight, which lives in
// blkio.weight (CFQ) or blkio.bfq.weight (BFQ) of non-root cgroups.
func TestBlkioWeight(t *testing.T) {
	requireV1(t)
	e := newEnv(t)
	b := newBundle(t, "sleep", "60")
	b.Spec.Linux.Resources = &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(500)}}
	id := e.id()
	_, stderr, code := e.run("create", "--bundle", b.save(t), id)
	dir := filepath.Join("/sys/fs/cgroup/blkio/berth", id)
	if code != 0 {
		// Without CFQ or BFQ the weight cannot apply: a clear error.
		if !strings.Contains(stderr, "linux.resources.blockIO.weight") || !strings.Contains(stderr, "scheduler") {
			t.Fatalf("create with a blkio weight: %s", stderr)
		}
		e.assertNothingLeft(id, "")
		return
	}
	file := "blkio.weight"
	if _, err := os.Stat(filepath.Join(dir, file)); err != nil {
		file = "blkio.bfq.weight"
	}
	if got := hostCgroupFile(t, "blkio", id, file); !strings.Contains(got, "500") {
		t.Errorf("%s = %q, want 500", file, got)
	}
	e.mustRun("update", "--blkio-weight", "300", id)
	if got := hostCgroupFile(t, "blkio", id, file); !strings.Contains(got, "300") {
		t.Errorf("%s after update = %q, want 300", file, got)
	}
}
