package runtime_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/runtime/caps"
)

// Benchmarks of what the confinement costs berth-runtime: `run` of busybox
// true with a bare isolation spec and with the default spec plus cgroup
// limits, and `events --stats` on a running container. bench/confine.sh and
// bench/events.sh time the same with runc and crun beside it.
//
//	go test ./tests/runtime -run '^$' -bench 'Confinement|EventsStats' -benchtime 50x

// confineLimits sets the memory, pids and cpu limits bench/confine.sh sets.
func confineLimits(s *specs.Spec) {
	mem, pids := int64(256<<20), int64(1024)
	shares, quota, period := uint64(512), int64(50000), uint64(100000)
	if s.Linux.Resources == nil {
		s.Linux.Resources = &specs.LinuxResources{}
	}
	s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &mem}
	s.Linux.Resources.Pids = &specs.LinuxPids{Limit: new(int64(pids))}
	s.Linux.Resources.CPU = &specs.LinuxCPU{Shares: &shares, Quota: &quota, Period: &period}
}

// ownCaps returns the names of the capabilities this process holds in its
// effective set: the most a runtime started from here can grant.
func ownCaps(b *testing.B) []string {
	b.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	var eff uint64
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			if eff, err = strconv.ParseUint(strings.TrimSpace(v), 16, 64); err != nil {
				b.Fatalf("/proc/self/status: CapEff: %v", err)
			}
		}
	}
	var names []string
	for _, name := range caps.Known() {
		n, err := caps.Parse(name)
		if err != nil {
			b.Fatal(err)
		}
		if n < 64 && eff&(1<<n) != 0 {
			names = append(names, name)
		}
	}
	return names
}

// bareConfine strips the confinement from a default spec: no seccomp, every
// capability held here, no masked or read-only paths, no resources.
func bareConfine(b *testing.B, s *specs.Spec) {
	all := ownCaps(b)
	s.Linux.Seccomp = nil
	s.Linux.MaskedPaths = nil
	s.Linux.ReadonlyPaths = nil
	s.Linux.Resources = nil
	s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: all, Effective: all, Permitted: all}
}

// BenchmarkRunConfinement times `berth-runtime run` of busybox true with
// the bare spec, the default spec with limits, and the default spec with
// the compiled seccomp program's cache removed before every run.
func BenchmarkRunConfinement(b *testing.B) {
	for _, c := range []struct {
		name    string
		bare    bool
		noCache bool
	}{
		{name: "bare", bare: true},
		{name: "default"},
		{name: "default-nocache", noCache: true},
	} {
		b.Run(c.name, func(b *testing.B) {
			if os.Geteuid() != 0 {
				b.Skip("needs root")
			}
			bd := newBundle(b, "true")
			if c.bare {
				bareConfine(b, bd.Spec)
			} else {
				confineLimits(bd.Spec)
			}
			bd.save(b)
			r := newBenchRuntime(b)
			id := fmt.Sprintf("bench-confine-%s-%d", c.name, os.Getpid())
			cache := filepath.Join(r.root, "@cache")
			for b.Loop() {
				if c.noCache {
					b.StopTimer()
					if err := os.RemoveAll(cache); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				r.run("run", "--bundle", bd.Dir, id)
			}
		})
	}
}

// BenchmarkEventsStats times `berth-runtime events --stats` on a running
// busybox sleep with the default spec and limits.
func BenchmarkEventsStats(b *testing.B) {
	bd := benchBundle(b, "sleep", "3600")
	confineLimits(bd.Spec)
	bd.save(b)
	r := newBenchRuntime(b) // its cleanup force-deletes the container
	id := fmt.Sprintf("bench-events-%d", os.Getpid())
	r.run("create", "--bundle", bd.Dir, id)
	r.run("start", id)
	for b.Loop() {
		r.run("events", "--stats", id)
	}
}
