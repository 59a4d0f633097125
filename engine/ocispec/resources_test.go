package ocispec

import (
	"math"
	"runtime"
	"strconv"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestMemory(t *testing.T) {
	i := func(n int64) *int64 { return &n }
	for _, c := range []struct {
		mem, swap, res string
		want           *specs.LinuxMemory
	}{
		{want: nil},
		{mem: "512m", want: &specs.LinuxMemory{Limit: i(512 << 20), Swap: i(1 << 30)}},
		{mem: "6m", swap: "-1", want: &specs.LinuxMemory{Limit: i(6 << 20), Swap: i(-1)}},
		{mem: "1g", swap: "1g", want: &specs.LinuxMemory{Limit: i(1 << 30), Swap: i(1 << 30)}},
		{mem: "1g", swap: "0", want: &specs.LinuxMemory{Limit: i(1 << 30), Swap: i(2 << 30)}},
		{mem: "1g", res: "512m", want: &specs.LinuxMemory{Limit: i(1 << 30), Swap: i(2 << 30), Reservation: i(512 << 20)}},
		{res: "64m", want: &specs.LinuxMemory{Reservation: i(64 << 20)}},
		{mem: "0", want: nil},
	} {
		o := Options{Memory: c.mem, MemorySwap: c.swap, MemoryReservation: c.res}
		got, err := memory(&o)
		if err != nil || !eqMem(got, c.want) {
			t.Errorf("memory(%q, %q, %q) = %s, %v; want %s", c.mem, c.swap, c.res, fmtMem(got), err, fmtMem(c.want))
		}
	}
	for _, c := range []struct{ mem, swap, res, msg string }{
		{mem: "12x", msg: `invalid argument "12x" for "--memory" flag: invalid suffix: 'x'`},
		{mem: "-1", msg: `"--memory"`},
		{mem: "5m", msg: "minimum memory limit allowed is 6MB"},
		{mem: "100", msg: "minimum memory limit allowed is 6MB"},
		{mem: "1g", swap: "512m", msg: `"--memory-swap"`},
		{swap: "1g", msg: "always set the memory limit"},
		{mem: "1g", swap: "lots", msg: `invalid argument "lots" for "--memory-swap"`},
		{mem: "1g", swap: "-2", msg: `"--memory-swap"`},
		{res: "1k", msg: "minimum memory reservation allowed is 6MB"},
		{mem: "64m", res: "128m", msg: "can not be less than memory reservation"},
		{res: "x", msg: `"--memory-reservation"`},
	} {
		o := Options{Memory: c.mem, MemorySwap: c.swap, MemoryReservation: c.res}
		_, err := memory(&o)
		wantErr(t, err, c.msg)
	}
}

func eqMem(a, b *specs.LinuxMemory) bool { return fmtMem(a) == fmtMem(b) }

func fmtMem(m *specs.LinuxMemory) string {
	if m == nil {
		return "nil"
	}
	p := func(n *int64) string {
		if n == nil {
			return "-"
		}
		return strconv.FormatInt(*n, 10)
	}
	return "{limit " + p(m.Limit) + " swap " + p(m.Swap) + " res " + p(m.Reservation) + "}"
}

func TestCPU(t *testing.T) {
	o := Options{CPUs: "1.5", CPUShares: "512", CPUSetCPUs: "0-1", CPUSetMems: "0"}
	c, err := cpu(&o)
	if err != nil || *c.Quota != 150000 || *c.Period != 100000 || *c.Shares != 512 || c.Cpus != "0-1" || c.Mems != "0" {
		t.Fatalf("cpu = %+v, %v", c, err)
	}
	o = Options{CPUs: "0.01", CPUShares: "1"}
	if c, err = cpu(&o); err != nil || *c.Quota != 1000 || *c.Shares != 2 {
		t.Errorf("0.01 CPUs, 1 share: %+v, %v", c, err)
	}
	o = Options{CPUs: "1/2"}
	if c, err = cpu(&o); err != nil || *c.Quota != 50000 {
		t.Errorf("1/2 CPUs: %+v, %v", c, err)
	}
	o = Options{CPUShares: "1000000"}
	if c, err = cpu(&o); err != nil || *c.Shares != 262144 {
		t.Errorf("shares clamped: %+v, %v", c, err)
	}
	o = Options{CPUs: "0", CPUShares: "0"}
	if c, err = cpu(&o); err != nil || c != nil {
		t.Errorf("zero means unset: %+v, %v", c, err)
	}
	n := strconv.Itoa(runtime.NumCPU())
	for _, c := range []struct {
		o   Options
		msg string
	}{
		{Options{CPUs: "abc"}, `invalid argument "abc" for "--cpus" flag: failed to parse abc as a rational number`},
		{Options{CPUs: "1/0"}, "rational number"},
		{Options{CPUs: "1.5.1"}, "rational number"},
		{Options{CPUs: "0.0000000001"}, "too precise"},
		{Options{CPUs: "-1"}, "range of CPUs is from 0.01 to " + n + ".00"},
		{Options{CPUs: "0.001"}, "range of CPUs"},
		{Options{CPUs: strconv.Itoa(runtime.NumCPU() + 1)}, "range of CPUs"},
		{Options{CPUShares: "many"}, `"--cpu-shares"`},
		{Options{CPUShares: "-5"}, `"--cpu-shares"`},
		{Options{CPUSetCPUs: "0-"}, `invalid argument "0-" for "--cpuset-cpus" flag: invalid format: 0-`},
		{Options{CPUSetCPUs: "3-1"}, "invalid format"},
		{Options{CPUSetCPUs: "a"}, "invalid format"},
		{Options{CPUSetCPUs: "0,,1"}, "invalid format"},
		{Options{CPUSetCPUs: "-1"}, "invalid format"},
		{Options{CPUSetCPUs: "99999999"}, "invalid format"},
		{Options{CPUSetMems: "0;1"}, `"--cpuset-mems"`},
	} {
		_, err := cpu(&c.o)
		wantErr(t, err, c.msg)
	}
}

func TestPidsLimit(t *testing.T) {
	for in, want := range map[string]int64{"100": 100, "0": -1, "-1": -1} {
		o := testOptions(t)
		o.PidsLimit = in
		s := mustBuild(t, o)
		if s.Linux.Resources.Pids == nil || *s.Linux.Resources.Pids.Limit != want {
			t.Errorf("--pids-limit %s: %+v", in, s.Linux.Resources.Pids)
		}
	}
	o := testOptions(t)
	o.PidsLimit = "lots"
	_, err := Build(o)
	wantErr(t, err, `invalid argument "lots" for "--pids-limit"`)
}

func TestUlimits(t *testing.T) {
	for in, want := range map[string]specs.POSIXRlimit{
		"nofile=1024":     {Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 1024},
		"nofile=512:2048": {Type: "RLIMIT_NOFILE", Soft: 512, Hard: 2048},
		"core=-1":         {Type: "RLIMIT_CORE", Soft: math.MaxUint64, Hard: math.MaxUint64},
		"nproc=10:-1":     {Type: "RLIMIT_NPROC", Soft: 10, Hard: math.MaxUint64},
		"memlock=0":       {Type: "RLIMIT_MEMLOCK"},
	} {
		got, err := ParseUlimit(in)
		if err != nil || got != want {
			t.Errorf("ParseUlimit(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"nofile":       "invalid ulimit argument: nofile",
		"files=1":      "invalid ulimit type: files",
		"nofile=1:2:3": "too many limit value arguments",
		"nofile=x":     `invalid soft limit "x"`,
		"nofile=1:y":   `invalid hard limit "y"`,
		"nofile=10:5":  "ulimit soft limit must be less than or equal to hard limit: 10 > 5",
		"nofile=-1:5":  "soft: -1 (unlimited), hard: 5",
		"nofile=-2":    "-1 (unlimited) or positive",
	} {
		_, err := ParseUlimit(in)
		wantErr(t, err, "--ulimit "+in, msg)
	}
	o := testOptions(t)
	o.Ulimits = []string{"nofile=100:200", "nproc=50", "nofile=300"}
	s := mustBuild(t, o)
	var got []specs.POSIXRlimit
	for _, r := range s.Process.Rlimits {
		got = append(got, r)
	}
	if len(got) != 2 || got[0] != (specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Soft: 300, Hard: 300}) || got[1].Type != "RLIMIT_NPROC" {
		t.Errorf("rlimits %+v", got)
	}
}
