package runtime_test

// The cgroup v2 versions of the controller tests in cgroup_test.go and
// update_test.go. They run on a pure cgroup v2 host with controllers
// enabled (the qemu guest of scripts/vm/run-v2.sh, `make vm-v2`) and skip
// on this project's cgroup v1 hybrid CI host. Every check reads the
// container's cgroup files on the host side, /sys/fs/cgroup/berth/<id>.

import (
	"context"
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

	"berth/runtime/cgroups"
)

// v2Controllers are those the v2 tests need enabled at the root.
var v2Controllers = []string{"cpuset", "cpu", "io", "memory", "pids"}

// requireV2 skips unless /sys/fs/cgroup is a cgroup2 mount whose root
// offers the controllers the tests drive.
func requireV2(t *testing.T) {
	t.Helper()
	requireRoot(t)
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
		t.Skip("needs a pure cgroup v2 host (make vm-v2 runs these tests in one)")
	}
	b, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
	if err != nil {
		t.Skipf("cgroup v2 root without cgroup.controllers: %v", err)
	}
	have := strings.Fields(string(b))
	for _, c := range v2Controllers {
		if !hasString(have, c) {
			t.Skipf("needs the %s controller in /sys/fs/cgroup/cgroup.controllers (%q)", c, have)
		}
	}
}

// v2File reads a file of container id's cgroup on the host.
func v2File(t *testing.T, id, file string) string {
	t.Helper()
	return hostCgroupFile(t, "", id, file)
}

// v2Exists reports whether the container's cgroup has file (an interface
// file of an optional kernel feature).
func v2Exists(id, file string) bool {
	_, err := os.Stat(filepath.Join("/sys/fs/cgroup/berth", id, file))
	return err == nil
}

// v2KeyValue returns key's value in a flat-keyed file (cgroup.events,
// memory.events, pids.events, cpu.stat) of the container's cgroup.
func v2KeyValue(t *testing.T, id, file, key string) int64 {
	t.Helper()
	for _, l := range strings.Split(v2File(t, id, file), "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && f[0] == key {
			n, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatalf("%s: %q: %v", file, l, err)
			}
			return n
		}
	}
	t.Fatalf("%s of %s has no key %s", file, id, key)
	return 0
}

// v2Check is one expected cgroup file content; contains relaxes the
// comparison to a substring (keyed files such as io.max).
type v2Check struct {
	file, want string
	contains   bool
	// optional skips the check where the kernel lacks the file.
	optional bool
}

func (c v2Check) verify(t *testing.T, id, when string) {
	t.Helper()
	if c.optional && !v2Exists(id, c.file) {
		t.Logf("%s: not on this kernel, not checked", c.file)
		return
	}
	got := v2File(t, id, c.file)
	if (c.contains && !strings.Contains(got, c.want)) || (!c.contains && got != c.want) {
		t.Errorf("%s%s = %q, want %q", when, c.file, got, c.want)
	}
}

// TestCgroupV2Limits runs one container per controller and checks the
// host's cgroup files hold the limits, converted from the OCI (v1) values
// as runc converts them on v2, and that the container reads the same
// values from its own /sys/fs/cgroup (the root of its cgroup namespace).
func TestCgroupV2Limits(t *testing.T) {
	requireV2(t)
	weight512 := strconv.FormatUint(cgroups.ConvertCPUSharesToWeight(512), 10)
	type tc struct {
		name   string
		r      specs.LinuxResources
		checks []v2Check
	}
	cases := []tc{
		{"memory", specs.LinuxResources{Memory: &specs.LinuxMemory{
			Limit: i64(64 << 20), Reservation: i64(32 << 20), Swap: i64(128 << 20),
			// No v2 equivalent: ignored, as runc ignores them on v2.
			Swappiness: u64(10), KernelTCP: i64(16 << 20), DisableOOMKiller: boolp(true),
		}}, []v2Check{
			{file: "memory.max", want: "67108864"},
			{file: "memory.low", want: "33554432"},
			// memory+swap 128M over a 64M limit: 64M of swap alone.
			{file: "memory.swap.max", want: "67108864"},
			// disableOOMKiller does not turn into memory.oom.group (runc
			// neither); the group default stays.
			{file: "memory.oom.group", want: "0"},
		}},
		{"cpu", specs.LinuxResources{CPU: &specs.LinuxCPU{
			Shares: u64(512), Quota: i64(25000), Period: u64(50000), Burst: u64(1000),
		}}, []v2Check{
			// runc's linear shares-to-weight mapping: 512 -> 20.
			{file: "cpu.weight", want: weight512},
			{file: "cpu.max", want: "25000 50000"},
			{file: "cpu.max.burst", want: "1000", optional: true},
		}},
		{"cpu idle", specs.LinuxResources{CPU: &specs.LinuxCPU{Idle: i64(1)}}, []v2Check{
			{file: "cpu.idle", want: "1", optional: true},
		}},
		{"cpuset", specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0", Mems: "0"}}, []v2Check{
			{file: "cpuset.cpus", want: "0"},
			{file: "cpuset.mems", want: "0"},
			{file: "cpuset.cpus.effective", want: "0"},
		}},
		{"pids", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: new(int64(20))}}, []v2Check{
			{file: "pids.max", want: "20"},
		}},
		{"unified", specs.LinuxResources{Unified: map[string]string{
			"memory.high": strconv.Itoa(48 << 20), "memory.oom.group": "1", "pids.max": "33",
		}}, []v2Check{
			{file: "memory.high", want: "50331648"},
			{file: "memory.oom.group", want: "1"},
			{file: "pids.max", want: "33"},
		}},
	}
	if maj, min, ok := findWholeDisk(); ok {
		dev := fmt.Sprintf("%d:%d", maj, min)
		d := specs.LinuxBlockIODevice{Major: maj, Minor: min}
		cases = append(cases, tc{"io throttle", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
			ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: d, Rate: 1 << 20}},
			ThrottleWriteBpsDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: d, Rate: 2 << 20}},
			ThrottleReadIOPSDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: d, Rate: 100}},
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: d, Rate: 200}},
		}}, []v2Check{
			{file: "io.max", want: dev + " rbps=1048576 wbps=2097152 riops=100 wiops=200"},
		}})
	} else {
		t.Log("no whole-disk block device: io throttles not checked (run-v2.sh attaches a virtio disk)")
	}
	if _, err := os.Stat("/sys/kernel/mm/hugepages/hugepages-2048kB"); err == nil && rootHas("hugetlb") {
		cases = append(cases, tc{"hugetlb", specs.LinuxResources{
			HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}},
		}, []v2Check{{file: "hugetlb.2MB.max", want: "4194304"}}})
	} else {
		t.Log("no 2MB huge pages or no hugetlb controller: hugetlb not checked")
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			var script []string
			for _, ck := range c.checks {
				script = append(script, fmt.Sprintf("echo %s=$(cat /sys/fs/cgroup/%s 2>/dev/null | tr '\\n' ' ')", ck.file, ck.file))
			}
			b := newBundle(t, "sh", "-c", strings.Join(script, "; ")+"; echo done; sleep 60")
			outPath := filepath.Join(t.TempDir(), "out")
			r := c.r
			b.Spec.Linux.Resources = &r
			id := e.id()
			outf, err := os.Create(outPath)
			if err != nil {
				t.Fatal(err)
			}
			defer outf.Close()
			cmd := e.command("run", "-d", "--bundle", b.save(t), id)
			cmd.Stdout, cmd.Stderr = outf, outf
			if err := cmd.Run(); err != nil {
				b, _ := os.ReadFile(outPath)
				t.Fatalf("run -d: %v: %s", err, b)
			}
			for _, ck := range c.checks {
				ck.verify(t, id, "host ")
			}
			inside := waitOutput(t, outPath, "done")
			for _, ck := range c.checks {
				if ck.optional && !v2Exists(id, ck.file) {
					continue
				}
				// Inside, the same file of the namespace's root.
				if want := fmt.Sprintf("%s=%s", ck.file, v2File(t, id, ck.file)); !strings.Contains(inside, strings.ReplaceAll(want, "\n", " ")) {
					t.Errorf("inside the container: want %q in %q", want, inside)
				}
			}
			e.mustRun("delete", "--force", id)
			cgroupGone(t, id)
		})
	}
}

// waitOutput waits until the file at path holds want, with room for a
// loaded emulated guest, and returns its content.
func waitOutput(t *testing.T, path, want string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil && strings.Contains(string(b), want) {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %q does not contain %q", path, b, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// findWholeDisk is wholeDisk without the skip.
func findWholeDisk() (int64, int64, bool) {
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
			return maj, min, true
		}
	}
	return 0, 0, false
}

// rootHas reports whether the v2 root offers controller c.
func rootHas(c string) bool {
	b, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
	return err == nil && hasString(strings.Fields(string(b)), c)
}

// TestCgroupV2IOWeight sets the proportional weight: io.weight (blk-iocost,
// runc's 10..1000 -> 1..10000 conversion) or io.bfq.weight (BFQ, as is).
func TestCgroupV2IOWeight(t *testing.T) {
	requireV2(t)
	e := newEnv(t)
	b := newBundle(t, "sleep", "60")
	b.Spec.Linux.Resources = &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(500)}}
	id := e.id()
	_, stderr, code := e.run("create", "--bundle", b.save(t), id)
	if code != 0 {
		// Neither iocost nor BFQ: a clear error, nothing left.
		if !strings.Contains(stderr, "linux.resources.blockIO.weight") || !strings.Contains(stderr, "scheduler") {
			t.Fatalf("create with an io weight: %s", stderr)
		}
		e.assertNothingLeft(id, "")
		return
	}
	file, want, want2 := "io.weight", cgroups.ConvertBlkioWeightToIOWeight(500), cgroups.ConvertBlkioWeightToIOWeight(300)
	if v2Exists(id, "io.bfq.weight") {
		file, want, want2 = "io.bfq.weight", 500, 300
	}
	if got := v2File(t, id, file); !strings.Contains(got, fmt.Sprintf("default %d", want)) {
		t.Errorf("%s = %q, want default %d", file, got, want)
	}
	e.mustRun("update", "--blkio-weight", "300", id)
	if got := v2File(t, id, file); !strings.Contains(got, fmt.Sprintf("default %d", want2)) {
		t.Errorf("%s after update = %q, want default %d", file, got, want2)
	}
	e.mustRun("delete", "--force", id)
	cgroupGone(t, id)
}

// TestCgroupV2LimitsSeenInside: the container's /sys/fs/cgroup is a
// cgroup2 mount of its own cgroup, read-only, seen as the root "/".
func TestCgroupV2LimitsSeenInside(t *testing.T) {
	requireV2(t)
	e := newEnv(t)
	b := newBundle(t, "sh", "-c", "cat /proc/self/cgroup; grep ' /sys/fs/cgroup ' /proc/self/mounts | cut -d' ' -f3; "+
		"cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.weight /sys/fs/cgroup/cpuset.cpus; "+
		"echo 1 2>/dev/null > /sys/fs/cgroup/pids.max || echo read-only; test -e /sys/fs/cgroup/berth || echo no-parents")
	b.Spec.Linux.Resources = &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(48 << 20)},
		Pids:   &specs.LinuxPids{Limit: new(int64(17))},
		CPU:    &specs.LinuxCPU{Shares: u64(256), Cpus: "0"},
	}
	out, stderr, code := e.runContainer(b)
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	want := fmt.Sprintf("0::/ cgroup2 50331648 17 %d 0 read-only no-parents", cgroups.ConvertCPUSharesToWeight(256))
	if got := strings.Join(strings.Fields(out), " "); got != want {
		t.Errorf("inside the container: %q, want %q", got, want)
	}
}

// TestCgroupV2UnapplicableLimits: what v2 cannot apply is a clear create
// error naming the field, and nothing is left behind.
func TestCgroupV2UnapplicableLimits(t *testing.T) {
	requireV2(t)
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
		{"net_cls", specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: u32p(0x100001)}}, []string{"linux.resources.network", "net_cls"}},
		{"realtime", specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: i64(1000)}}, []string{"linux.resources.cpu.realtimeRuntime", "v2"}},
		{"unknown huge page size", specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "3MB", Limit: 1}}}, []string{"linux.resources.hugepageLimits[0]", "3MB"}},
		{"swap below limit", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(64 << 20), Swap: i64(32 << 20)}}, []string{"linux.resources.memory.swap"}},
		{"swap without limit", specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: i64(32 << 20)}}, []string{"linux.resources.memory.swap", "memory limit"}},
		{"unified unknown file", specs.LinuxResources{Unified: map[string]string{"memory.nosuch": "1"}}, []string{"linux.resources.unified.memory.nosuch", "no such cgroup file"}},
		{"unified path escape", specs.LinuxResources{Unified: map[string]string{"../cgroup.procs": "1"}}, []string{"linux.resources.unified", "not a cgroup file name"}},
		{"unified bad value", specs.LinuxResources{Unified: map[string]string{"pids.max": "lots"}}, []string{"linux.resources.unified.pids.max", "lots"}},
		// A pid is filled in below: a process of the test's own, so a
		// runtime that wrote it would move nothing else.
		{"unified cgroup.procs", specs.LinuxResources{Unified: map[string]string{"cgroup.procs": ""}}, []string{"linux.resources.unified.cgroup.procs", "managed by the runtime"}},
		{"unified subtree_control", specs.LinuxResources{Unified: map[string]string{"cgroup.subtree_control": "-memory"}}, []string{"linux.resources.unified.cgroup.subtree_control"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			b := newBundle(t, "true")
			r := tc.r
			if v, ok := r.Unified["cgroup.procs"]; ok && v == "" {
				bystander := exec.Command("sleep", "120")
				if err := bystander.Start(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					_ = bystander.Process.Kill()
					_ = bystander.Wait()
				})
				r.Unified = map[string]string{"cgroup.procs": strconv.Itoa(bystander.Process.Pid)}
			}
			b.Spec.Linux.Resources = &r
			dir := b.save(t)
			if tc.name == "invalid cpuset" {
				// create, run and run -d, as the v1 test does for each.
				e.expectCreateFail(dir, tc.wants...)
				return
			}
			// create only: the paths share the cgroup setup, and each
			// attempt costs seconds in an emulated guest.
			id := e.id()
			e.expectFail(id, dir, []string{"create", "--bundle", dir, id}, tc.wants...)
		})
	}
}

func TestCgroupV2PauseResume(t *testing.T) {
	requireV2(t)
	e := newEnv(t)
	b, counter := counterBundle(t)
	id := e.startContainer(b)
	// Under emulation the first write can take longer than readCounter's
	// second.
	waitOutput(t, counter, "")
	readCounter(t, counter)

	e.mustRun("pause", id)
	if st := e.state(id); st["status"] != "paused" {
		t.Fatalf("state after pause: %v", st["status"])
	}
	if got := v2File(t, id, "cgroup.freeze"); got != "1" {
		t.Errorf("cgroup.freeze = %q", got)
	}
	if n := v2KeyValue(t, id, "cgroup.events", "frozen"); n != 1 {
		t.Errorf("cgroup.events frozen = %d", n)
	}
	n1 := readCounter(t, counter)
	time.Sleep(500 * time.Millisecond)
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
	e.mustRun("events", "--stats", id)

	e.mustRun("resume", id)
	if st := e.state(id); st["status"] != "running" {
		t.Fatalf("state after resume: %v", st["status"])
	}
	if got := v2File(t, id, "cgroup.freeze"); got != "0" {
		t.Errorf("cgroup.freeze after resume = %q", got)
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

func TestCgroupV2EventsStats(t *testing.T) {
	requireV2(t)
	e := newEnv(t)
	b := newBundle(t, "sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 60")
	b.Spec.Linux.Resources = &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(64 << 20)},
		Pids:   &specs.LinuxPids{Limit: new(int64(20))},
		CPU:    &specs.LinuxCPU{Quota: i64(50000), Period: u64(100000)},
	}
	id := e.startContainer(b)
	time.Sleep(300 * time.Millisecond)
	out := e.mustRun("events", "--stats", id)
	if strings.Count(out, "\n") != 1 {
		t.Fatalf("events --stats: want one line, got %q", out)
	}
	d := eventsData(t, strings.TrimSpace(out), id, "stats")
	if got := num(t, d, "memory", "usage", "limit"); got != 64<<20 {
		t.Errorf("memory.usage.limit = %v", got)
	}
	usage, peak := num(t, d, "memory", "usage", "usage"), num(t, d, "memory", "usage", "max")
	if usage <= 0 || usage > 64<<20 {
		t.Errorf("memory.usage.usage = %v", usage)
	}
	if v2Exists(id, "memory.peak") && peak < usage {
		t.Errorf("memory.usage.max (memory.peak) %v below usage %v", peak, usage)
	}
	if _, ok := d["memory"].(map[string]any)["usage"].(map[string]any)["failcnt"]; !ok {
		t.Errorf("memory.usage.failcnt missing: %v", d["memory"])
	}
	if raw, _ := d["memory"].(map[string]any)["raw"].(map[string]any); raw["anon"] == nil {
		t.Errorf("memory.raw (memory.stat) lacks anon: %v", d["memory"])
	}
	if got := num(t, d, "pids", "current"); got < 1 || got > 20 {
		t.Errorf("pids.current = %v", got)
	}
	if got := num(t, d, "pids", "limit"); got != 20 {
		t.Errorf("pids.limit = %v", got)
	}
	total := num(t, d, "cpu", "usage", "total")
	if total <= 0 || num(t, d, "cpu", "usage", "user")+num(t, d, "cpu", "usage", "kernel") <= 0 {
		t.Errorf("cpu.usage missing: %v", d["cpu"])
	}
	// cpu.stat counts microseconds, events reports nanoseconds.
	if usec := v2KeyValue(t, id, "cpu.stat", "usage_usec"); total > float64(usec+1e6)*1000 || total < 1000 {
		t.Errorf("cpu.usage.total %v ns against cpu.stat usage_usec %d", total, usec)
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

// TestCgroupV2EventsStream reads a few stats events, then the stream ends
// by itself when the container stops.
func TestCgroupV2EventsStream(t *testing.T) {
	requireV2(t)
	e := newEnv(t)
	b := newBundle(t, "sleep", "60")
	b.Spec.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(64 << 20)}}
	id := e.startContainer(b)
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
	deadline := time.Now().Add(20 * time.Second)
	var lines []string
	for len(lines) < 3 {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("events stream: %d lines in 20s", len(lines))
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
		if num(t, d, "pids", "current") < 1 || num(t, d, "memory", "usage", "limit") != 64<<20 {
			t.Errorf("stream stats without pids or memory: %s", l)
		}
	}
	e.mustRun("kill", id, "KILL")
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("events stream after the container stopped: %v", err)
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Error("events stream did not end when the container stopped")
	}
	e.mustRun("delete", id)
	cgroupGone(t, id)
}

// TestCgroupV2OOMKill: a container over its memory limit is OOM-killed
// alone (memory.events counts it), events reports the OOM, and the cgroup
// is removed on delete.
func TestCgroupV2OOMKill(t *testing.T) {
	requireV2(t)
	e := newEnv(t)
	// tail buffers its input looking for newlines; /dev/zero has none.
	b := newBundle(t, "sh", "-c", "sleep 1; exec tail /dev/zero")
	b.Spec.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(32 << 20), Swap: i64(32 << 20)}}
	bystander := exec.Command("sleep", "120")
	if err := bystander.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = bystander.Process.Kill()
		_ = bystander.Wait()
	})
	id := e.startContainer(b)
	if got := v2File(t, id, "memory.swap.max"); got != "0" {
		t.Errorf("memory.swap.max = %q, want 0 (memory+swap equal to memory)", got)
	}
	outPath := filepath.Join(t.TempDir(), "events")
	outf, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer outf.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
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
	if st := e.state(id); st["status"] != "stopped" {
		t.Errorf("status after the OOM kill: %v", st["status"])
	}
	if n := v2KeyValue(t, id, "memory.events", "oom_kill"); n < 1 {
		t.Errorf("memory.events oom_kill = %d", n)
	}
	if !processRunning(bystander.Process.Pid) {
		t.Error("a host process died with the container's OOM")
	}
	e.mustRun("delete", id)
	e.assertNothingLeft(id, "")
}

// TestCgroupV2ForkBomb: a bounded fork bomb hits pids.max and the host
// (here the guest) still runs processes.
func TestCgroupV2ForkBomb(t *testing.T) {
	requireV2(t)
	e := newEnv(t)
	b := newBundle(t, "sleep", "60")
	b.Spec.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: new(int64(20))}}
	id := e.startContainer(b)
	e.mustRun("exec", "-d", id, "sh", "-c", `i=0; while [ $i -lt 200 ]; do sh -c "sleep 30" 2>/dev/null & i=$((i+1)); done`)
	deadline := time.Now().Add(30 * time.Second)
	for v2KeyValue(t, id, "pids.events", "max") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("pids limit never hit: pids.events %q", v2File(t, id, "pids.events"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if cur, _ := strconv.Atoi(v2File(t, id, "pids.current")); cur > 20 {
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

// TestCgroupV2UpdateWhileRunning changes every limit runc update's flags
// reach and checks the v2 files.
func TestCgroupV2UpdateWhileRunning(t *testing.T) {
	requireV2(t)
	e := newEnv(t)
	b := newBundle(t, "sleep", "60")
	b.Spec.Linux.Resources = &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(64 << 20)},
		CPU:    &specs.LinuxCPU{Quota: i64(50000), Period: u64(100000), Cpus: "0"},
		Pids:   &specs.LinuxPids{Limit: new(int64(20))},
	}
	cpus := "1"
	if n, _ := os.ReadFile("/sys/fs/cgroup/cpuset.cpus.effective"); strings.TrimSpace(string(n)) == "0" {
		cpus = "0" // a one-CPU host
	}
	id := e.startContainer(b)
	e.mustRun("update", "--memory", "128m", "--memory-swap", "256m", "--memory-reservation", "32m",
		"--cpu-shares", "512", "--cpu-quota", "30000", "--cpu-period", "60000",
		"--cpuset-cpus", cpus, "--cpuset-mems", "0", "--pids-limit", "30", id)
	for _, c := range []v2Check{
		{file: "memory.max", want: "134217728"},
		{file: "memory.swap.max", want: "134217728"},
		{file: "memory.low", want: "33554432"},
		{file: "cpu.weight", want: strconv.FormatUint(cgroups.ConvertCPUSharesToWeight(512), 10)},
		{file: "cpu.max", want: "30000 60000"},
		{file: "cpuset.cpus", want: cpus},
		{file: "cpuset.mems", want: "0"},
		{file: "pids.max", want: "30"},
	} {
		c.verify(t, id, "after update: ")
	}
	// Lowering memory and swap together works (swap.max is apart on v2).
	e.mustRun("update", "--memory", "16m", "--memory-swap", "32m", id)
	v2Check{file: "memory.max", want: "16777216"}.verify(t, id, "")
	v2Check{file: "memory.swap.max", want: "16777216"}.verify(t, id, "")
	// Only the quota: the period stays.
	e.mustRun("update", "--cpu-quota", "20000", id)
	v2Check{file: "cpu.max", want: "20000 60000"}.verify(t, id, "")
	// Unlimited.
	e.mustRun("update", "--memory-swap", "-1", "--memory", "-1", "--cpu-quota", "-1", "--pids-limit", "0", id)
	for _, c := range []v2Check{
		{file: "memory.max", want: "max"},
		{file: "memory.swap.max", want: "max"},
		{file: "cpu.max", want: "max 60000"},
		{file: "pids.max", want: "max"},
	} {
		c.verify(t, id, "unlimited: ")
	}
	if st := e.state(id); st["status"] != "running" {
		t.Errorf("status after update: %v", st["status"])
	}
}

func TestCgroupV2UpdateFromResourcesFile(t *testing.T) {
	requireV2(t)
	e := newEnv(t)
	id := e.startContainer(newBundle(t, "sleep", "60"))
	file := filepath.Join(t.TempDir(), "r.json")
	if err := os.WriteFile(file, []byte(`{"pids":{"limit":42},"cpu":{"shares":300},"unified":{"memory.high":"67108864"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	e.mustRun("update", "-r", file, id)
	v2Check{file: "pids.max", want: "42"}.verify(t, id, "")
	v2Check{file: "cpu.weight", want: strconv.FormatUint(cgroups.ConvertCPUSharesToWeight(300), 10)}.verify(t, id, "")
	v2Check{file: "memory.high", want: "67108864"}.verify(t, id, "")
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
	v2Check{file: "pids.max", want: "43"}.verify(t, id, "from stdin: ")
	if err := os.WriteFile(file, []byte(`{"pids":`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := e.run("update", "-r", file, id); code == 0 || !strings.Contains(stderr, "--resources") {
		t.Errorf("update with a broken file: code %d, %q", code, stderr)
	}
}

func TestCgroupV2UpdateBadValues(t *testing.T) {
	requireV2(t)
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
	v2Check{file: "cpuset.cpus", want: "0"}.verify(t, id, "after a failed update: ")
	v2Check{file: "memory.max", want: "max"}.verify(t, id, "after a failed update: ")
	if st := e.state(id); st["status"] != "running" {
		t.Errorf("status after failed updates: %v", st["status"])
	}
	e.mustRun("kill", id, "KILL")
	e.waitStatus(id, "stopped")
	if _, stderr, code := e.run("update", "--pids-limit", "5", id); code == 0 || !strings.Contains(stderr, "not running") {
		t.Errorf("update of a stopped container: code %d, %q", code, stderr)
	}
}

// TestCgroupV2UpdatePaused: a frozen cgroup can be updated and stays
// frozen.
func TestCgroupV2UpdatePaused(t *testing.T) {
	requireV2(t)
	e := newEnv(t)
	id := e.startContainer(newBundle(t, "sleep", "60"))
	e.mustRun("pause", id)
	e.mustRun("update", "--pids-limit", "7", id)
	v2Check{file: "pids.max", want: "7"}.verify(t, id, "")
	v2Check{file: "cgroup.freeze", want: "1"}.verify(t, id, "")
	if st := e.state(id); st["status"] != "paused" {
		t.Errorf("status = %v, want paused", st["status"])
	}
	e.mustRun("resume", id)
}

// TestCgroupV2UpdateBelowUsage: with checkBeforeUpdate a memory limit
// below memory.current is refused and memory.max is left as it was.
func TestCgroupV2UpdateBelowUsage(t *testing.T) {
	requireV2(t)
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
	v2Check{file: "memory.max", want: "67108864"}.verify(t, id, "after a refused update: ")
}

// TestCgroupV2DeviceFilter: the eBPF device filter lets the container use
// a device a rule allows, with the access the rule grants only, and
// refuses (EPERM) a device no rule allows although its node exists.
func TestCgroupV2DeviceFilter(t *testing.T) {
	requireV2(t)
	e := newEnv(t)
	// /dev/kmsg (c 1:11) is not a default device; writing to it needs no
	// capability. c 1:2 (the old /dev/kmem) has no driver: ENXIO if the
	// filter let it through, EPERM when the filter refuses it.
	major, minor := int64(1), int64(11)
	b := newBundle(t, "sh", "-c", `echo berth-device-filter-test > /dev/allowed && echo write-ok;
		(head -n 1 /dev/allowed) 2>&1 | grep -q 'not permitted' && echo read-eperm;
		(head -c 1 /dev/denied) 2>&1 | grep -q 'not permitted' && echo denied-eperm;
		head -c 4 /dev/zero | wc -c`)
	mode := os.FileMode(0o600)
	b.Spec.Linux.Devices = []specs.LinuxDevice{
		{Path: "/dev/allowed", Type: "c", Major: major, Minor: minor, FileMode: &mode},
		{Path: "/dev/denied", Type: "c", Major: 1, Minor: 2, FileMode: &mode},
	}
	b.Spec.Linux.Resources = &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: &major, Minor: &minor, Access: "w"},
	}}
	out, stderr, code := e.runContainer(b)
	if code != 0 {
		t.Fatalf("run: exit %d: %s%s", code, stderr, out)
	}
	if got, want := strings.Join(strings.Fields(out), " "), "write-ok read-eperm denied-eperm 4"; got != want {
		t.Errorf("device access inside: %q, want %q", got, want)
	}
}

// TestCgroupV2RuntimeKilledMidCreate freezes the container's v2 cgroup
// before create, so create hangs once its init is in it; create is then
// killed, as a caller's timeout would. delete --force thaws and kills the
// half-made init and removes the cgroup.
func TestCgroupV2RuntimeKilledMidCreate(t *testing.T) {
	requireV2(t)
	e := newEnv(t)
	b := newBundle(t, "true")
	dir := b.save(t)
	id := e.id()
	cg := filepath.Join("/sys/fs/cgroup/berth", id)
	if err := os.MkdirAll(cg, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Thaw whatever is left so it can die, then remove the group.
		_ = os.WriteFile(filepath.Join(cg, "cgroup.freeze"), []byte("0"), 0)
		_ = os.WriteFile(filepath.Join(cg, "cgroup.kill"), []byte("1"), 0)
		for i := 0; i < 100 && os.Remove(cg) != nil && !os.IsNotExist(os.Remove(cg)); i++ {
			time.Sleep(20 * time.Millisecond)
		}
	})
	if err := os.WriteFile(filepath.Join(cg, "cgroup.freeze"), []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
	cmd := e.command("create", "--bundle", dir, id)
	done := startHung(t, cmd, cg)
	if st := e.state(id); st["status"] != "creating" {
		t.Fatalf("while create hangs: status %v", st["status"])
	}
	_ = cmd.Process.Kill()
	done <- <-done
	if st := e.state(id); st["status"] != "creating" {
		t.Fatalf("after create was killed: status %v", st["status"])
	}
	e.mustRun("delete", "--force", id)
	if _, err := os.Stat(cg); !os.IsNotExist(err) {
		t.Errorf("cgroup %s left after delete --force (%v)", cg, err)
	}
	e.assertNothingLeft(id, dir)
}
