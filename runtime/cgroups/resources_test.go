package cgroups

import (
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestConvertCPUSharesToWeight(t *testing.T) {
	for _, c := range []struct{ shares, weight uint64 }{
		{0, 0}, {1, 1}, {2, 1}, {3, 2}, {1024, 100}, {512, 59}, {100, 17}, {262142, 10000},
		{262144, 10000}, {1 << 20, 10000},
	} {
		if got := ConvertCPUSharesToWeight(c.shares); got != c.weight {
			t.Errorf("shares %d: weight %d, want %d", c.shares, got, c.weight)
		}
	}
}

func TestConvertBlkioWeightToIOWeight(t *testing.T) {
	for _, c := range []struct {
		in   uint16
		want uint64
	}{{0, 0}, {10, 1}, {1000, 10000}, {500, 4950}, {5, 1}} {
		if got := ConvertBlkioWeightToIOWeight(c.in); got != c.want {
			t.Errorf("blkio weight %d: io weight %d, want %d", c.in, got, c.want)
		}
	}
}

func TestConvertMemorySwapToV2(t *testing.T) {
	for _, c := range []struct {
		swap, limit, want int64
		err               bool
	}{
		{-1, 100, -1, false}, {0, 100, 0, false}, {300, 100, 200, false}, {100, 100, 0, false},
		{50, 100, 0, true}, {100, 0, 0, true}, {100, -1, 0, true},
	} {
		got, err := ConvertMemorySwapToV2(c.swap, c.limit)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("swap %d limit %d: %d, %v; want %d, error %v", c.swap, c.limit, got, err, c.want, c.err)
		}
	}
}

func TestCPUMax(t *testing.T) {
	for _, c := range []struct {
		quota  int64
		period uint64
		want   string
	}{
		{-1, 100000, "max 100000"}, {0, 0, "max 100000"}, {50000, 0, "50000 100000"},
		{20000, 50000, "20000 50000"},
	} {
		if got := CPUMax(c.quota, c.period); got != c.want {
			t.Errorf("CPUMax(%d, %d) = %q, want %q", c.quota, c.period, got, c.want)
		}
		q, p, err := ParseCPUMax(c.want)
		if err != nil {
			t.Fatalf("ParseCPUMax(%q): %v", c.want, err)
		}
		if CPUMax(q, p) != c.want {
			t.Errorf("ParseCPUMax(%q) = %d %d: does not round-trip", c.want, q, p)
		}
	}
	for _, bad := range []string{"", "max", "x 100", "1 2 3", "10 -1"} {
		if _, _, err := ParseCPUMax(bad); err == nil {
			t.Errorf("ParseCPUMax(%q): no error", bad)
		}
	}
}

func TestThrottleFormats(t *testing.T) {
	if got := IOMaxLine(8, 0, "rbps", 1048576); got != "8:0 rbps=1048576" {
		t.Errorf("IOMaxLine = %q", got)
	}
	if got := IOMaxLine(254, 16, "wiops", 0); got != "254:16 wiops=max" {
		t.Errorf("IOMaxLine unlimited = %q", got)
	}
	if got := throttleLine(8, 0, 100); got != "8:0 100" {
		t.Errorf("throttleLine = %q", got)
	}
	if got := pidsMax(0); got != "max" {
		t.Errorf("pidsMax(0) = %q", got)
	}
	if got := pidsMax(20); got != "20" {
		t.Errorf("pidsMax(20) = %q", got)
	}
	if got := formatLimit(-1); got != "max" {
		t.Errorf("formatLimit(-1) = %q", got)
	}
	h, o := uint32(2), uint32(10)
	if got := RdmaLine("mlx4_0", specs.LinuxRdma{HcaHandles: &h, HcaObjects: &o}); got != "mlx4_0 hca_handle=2 hca_object=10" {
		t.Errorf("RdmaLine = %q", got)
	}
}

func TestParseUint(t *testing.T) {
	for in, want := range map[string]uint64{"max": ^uint64(0), "-1": ^uint64(0), "42": 42, "9223372036854771712": 9223372036854771712} {
		if got, err := parseUint(in); err != nil || got != want {
			t.Errorf("parseUint(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := parseUint("x"); err == nil {
		t.Error("parseUint(x): no error")
	}
}

const memoryStat = `cache 1234
rss 4096
hierarchical_memory_limit 67108864
total_cache 99
bogus line here
notanumber x
`

func TestParseKeyValues(t *testing.T) {
	got := ParseKeyValues([]byte(memoryStat))
	want := map[string]uint64{"cache": 1234, "rss": 4096, "hierarchical_memory_limit": 67108864, "total_cache": 99}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseKeyValues = %v, want %v", got, want)
	}
	cpu := ParseKeyValues([]byte("usage_usec 100\nuser_usec 60\nsystem_usec 40\nnr_periods 3\nnr_throttled 1\nthrottled_usec 7\n"))
	if cpu["usage_usec"] != 100 || cpu["nr_throttled"] != 1 || cpu["throttled_usec"] != 7 {
		t.Errorf("cpu.stat: %v", cpu)
	}
}

func TestParseIOStat(t *testing.T) {
	b, ios := ParseIOStat([]byte("8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n254:0 rbytes=1 wbytes=0 rios=1 wios=0\nbad\n"))
	wantB := []BlkioEntry{{8, 0, "Read", 4096}, {8, 0, "Write", 8192}, {254, 0, "Read", 1}, {254, 0, "Write", 0}}
	wantIO := []BlkioEntry{{8, 0, "Read", 1}, {8, 0, "Write", 2}, {254, 0, "Read", 1}, {254, 0, "Write", 0}}
	if !reflect.DeepEqual(b, wantB) || !reflect.DeepEqual(ios, wantIO) {
		t.Errorf("ParseIOStat = %v, %v", b, ios)
	}
}

func TestParseBlkioFile(t *testing.T) {
	got := ParseBlkioFile([]byte("254:0 Read 4096\n254:0 Write 0\n254:0 Sync 4096\n254:0 Async 0\n254:0 Discard 0\n254:0 Total 4096\nTotal 4096\n"))
	if len(got) != 6 || got[0] != (BlkioEntry{254, 0, "Read", 4096}) || got[5].Op != "Total" {
		t.Errorf("ParseBlkioFile = %v", got)
	}
}

func TestParseUintList(t *testing.T) {
	got, err := ParseUintList([]byte("1 2 3 \n"))
	if err != nil || !reflect.DeepEqual(got, []uint64{1, 2, 3}) {
		t.Errorf("ParseUintList = %v, %v", got, err)
	}
	if _, err := ParseUintList([]byte("1 x")); err == nil {
		t.Error("ParseUintList: no error for junk")
	}
}

func TestSetV1RejectsUnified(t *testing.T) {
	m := &Manager{Mode: V1, Paths: map[string]string{}}
	err := m.Update(&specs.LinuxResources{Unified: map[string]string{"memory.max": "1"}})
	if err == nil || !strings.Contains(err.Error(), "linux.resources.unified") {
		t.Errorf("Set(unified) on v1: %v", err)
	}
}

func TestSetNamesAbsentController(t *testing.T) {
	m := &Manager{Mode: V1, Paths: map[string]string{}}
	id := uint32(1)
	for _, c := range []struct {
		r     specs.LinuxResources
		field string
	}{
		{specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: &id}}, "linux.resources.network.classID"},
		{specs.LinuxResources{Pids: &specs.LinuxPids{Limit: new(int64(3))}}, "linux.resources.pids.limit"},
		{specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0"}}, "linux.resources.cpu.cpus"},
	} {
		err := m.Update(&c.r)
		if err == nil || !strings.Contains(err.Error(), c.field) || !strings.Contains(err.Error(), "not available") {
			t.Errorf("Set without controllers: %v, want an error naming %s", err, c.field)
		}
	}
}

// Fuzz targets: these parse files the kernel writes, which must never
// crash the runtime whatever they hold.

func FuzzParseKeyValues(f *testing.F) {
	f.Add([]byte(memoryStat))
	f.Add([]byte("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for k := range ParseKeyValues(b) {
			if k == "" || strings.ContainsAny(k, " \t\n") {
				t.Fatalf("bad key %q", k)
			}
		}
	})
}

func FuzzParseIOStat(f *testing.F) {
	f.Add([]byte("8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		bs, ios := ParseIOStat(b)
		for _, e := range append(bs, ios...) {
			if e.Op != "Read" && e.Op != "Write" {
				t.Fatalf("bad op %q", e.Op)
			}
		}
	})
}

func FuzzParseBlkioFile(f *testing.F) {
	f.Add([]byte("254:0 Read 4096\n254:0 Total 4096\nTotal 4096\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, e := range ParseBlkioFile(b) {
			if e.Op == "" {
				t.Fatal("empty op")
			}
		}
	})
}

func FuzzParseCPUMax(f *testing.F) {
	f.Add("max 100000")
	f.Add("50000 100000")
	f.Fuzz(func(t *testing.T, s string) {
		q, p, err := ParseCPUMax(s)
		if err != nil || q <= 0 || p == 0 {
			return
		}
		q2, p2, err := ParseCPUMax(CPUMax(q, p))
		if err != nil || q2 != q || p2 != p {
			t.Fatalf("%q: %d %d does not round-trip: %d %d %v", s, q, p, q2, p2, err)
		}
	})
}

func FuzzParseUintList(f *testing.F) {
	f.Add([]byte("1 2 3\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseUintList(b)
	})
}
