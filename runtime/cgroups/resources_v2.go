package cgroups

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// setV2 applies resources to the unified hierarchy of cgroup v2.
func (m *Manager) setV2(r *specs.LinuxResources) error {
	dir, ok := m.v2Dir()
	if !ok {
		return errors.New("no cgroup v2 hierarchy")
	}
	for _, f := range []func(string, *specs.LinuxResources) error{
		setMemoryV2, setCPUV2, setCpusetV2, setPidsV2, setIOV2, setHugetlbV2, setRdmaV2, setNetworkV2, setUnifiedV2,
	} {
		if err := f(dir, r); err != nil {
			return err
		}
	}
	return nil
}

func setMemoryV2(dir string, r *specs.LinuxResources) error {
	mem := r.Memory
	if mem == nil || (mem.Limit == nil && mem.Swap == nil && mem.Reservation == nil) {
		// kernel, kernelTCP, swappiness and disableOOMKiller have no v2
		// equivalent and are ignored, as runc does.
		return nil
	}
	if err := enableV2(dir, "memory"); err != nil {
		return fieldError("memory", nil, err)
	}
	if mem.CheckBeforeUpdate != nil && *mem.CheckBeforeUpdate && mem.Limit != nil && *mem.Limit > 0 {
		if usage, err := readUint(dir, "memory.current"); err == nil && uint64(*mem.Limit) < usage {
			return fieldError("memory.limit", *mem.Limit, fmt.Errorf("below the current usage (%d bytes)", usage))
		}
	}
	var limit int64
	if mem.Limit != nil {
		limit = *mem.Limit
	}
	if mem.Swap != nil {
		swap, err := ConvertMemorySwapToV2(*mem.Swap, limit)
		if err != nil {
			return fieldError("memory.swap", *mem.Swap, err)
		}
		// An OCI swap of 0 is unset; memory+swap equal to memory is no
		// swap at all, written as 0.
		if *mem.Swap != 0 {
			if !exists(dir, "memory.swap.max") {
				return fieldError("memory.swap", *mem.Swap, errors.New("swap accounting is not enabled on this host"))
			}
			if err := writeFile(dir, "memory.swap.max", formatLimit(swap)); err != nil {
				return fieldError("memory.swap", *mem.Swap, err)
			}
		}
	}
	if mem.Limit != nil && *mem.Limit != 0 {
		if err := writeFile(dir, "memory.max", formatLimit(*mem.Limit)); err != nil {
			return fieldError("memory.limit", *mem.Limit, err)
		}
	}
	if mem.Reservation != nil && *mem.Reservation != 0 {
		if err := writeFile(dir, "memory.low", formatLimit(*mem.Reservation)); err != nil {
			return fieldError("memory.reservation", *mem.Reservation, err)
		}
	}
	return nil
}

func setCPUV2(dir string, r *specs.LinuxResources) error {
	c := r.CPU
	if c == nil {
		return nil
	}
	if (c.RealtimeRuntime != nil && *c.RealtimeRuntime != 0) || (c.RealtimePeriod != nil && *c.RealtimePeriod != 0) {
		return fieldError("cpu.realtimeRuntime", nil, errors.New("realtime scheduling limits are not supported on cgroup v2"))
	}
	need := (c.Shares != nil && *c.Shares != 0) || (c.Quota != nil && *c.Quota != 0) || (c.Period != nil && *c.Period != 0) || c.Burst != nil || c.Idle != nil
	if need {
		if err := enableV2(dir, "cpu"); err != nil {
			return fieldError("cpu", nil, err)
		}
	}
	if c.Shares != nil && *c.Shares != 0 {
		w := ConvertCPUSharesToWeight(*c.Shares)
		if err := writeFile(dir, "cpu.weight", strconv.FormatUint(w, 10)); err != nil {
			return fieldError("cpu.shares", *c.Shares, err)
		}
	}
	if (c.Quota != nil && *c.Quota != 0) || (c.Period != nil && *c.Period != 0) {
		var quota int64
		var period uint64
		// Keep whichever half is not given.
		if cur, err := readString(dir, "cpu.max"); err == nil {
			q, p, _ := ParseCPUMax(cur)
			quota, period = q, p
		}
		if c.Quota != nil && *c.Quota != 0 {
			quota = *c.Quota
		}
		if c.Period != nil && *c.Period != 0 {
			period = *c.Period
		}
		if err := writeFile(dir, "cpu.max", CPUMax(quota, period)); err != nil {
			return fieldError("cpu.quota", CPUMax(quota, period), err)
		}
	}
	if c.Burst != nil {
		if err := writeFile(dir, "cpu.max.burst", strconv.FormatUint(*c.Burst, 10)); err != nil {
			return fieldError("cpu.burst", *c.Burst, err)
		}
	}
	if c.Idle != nil {
		if err := writeFile(dir, "cpu.idle", strconv.FormatInt(*c.Idle, 10)); err != nil {
			return fieldError("cpu.idle", *c.Idle, err)
		}
	}
	return nil
}

// ParseCPUMax parses v2's cpu.max ("max 100000" or "50000 100000"); an
// unlimited quota reads as -1.
func ParseCPUMax(s string) (int64, uint64, error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("malformed cpu.max %q", s)
	}
	quota := int64(-1)
	if f[0] != "max" {
		q, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("malformed cpu.max %q: %w", s, err)
		}
		quota = q
	}
	period, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("malformed cpu.max %q: %w", s, err)
	}
	return quota, period, nil
}

func setCpusetV2(dir string, r *specs.LinuxResources) error {
	c := r.CPU
	if c == nil || (c.Cpus == "" && c.Mems == "") {
		return nil
	}
	if err := enableV2(dir, "cpuset"); err != nil {
		return fieldError("cpu.cpus", c.Cpus, err)
	}
	if c.Cpus != "" {
		if err := writeFile(dir, "cpuset.cpus", c.Cpus); err != nil {
			return fieldError("cpu.cpus", c.Cpus, cpusetError(err))
		}
	}
	if c.Mems != "" {
		if err := writeFile(dir, "cpuset.mems", c.Mems); err != nil {
			return fieldError("cpu.mems", c.Mems, cpusetError(err))
		}
	}
	return nil
}

func setPidsV2(dir string, r *specs.LinuxResources) error {
	if r.Pids == nil || r.Pids.Limit == nil {
		return nil // runtime-spec 1.3: an unset limit changes nothing
	}
	limit := *r.Pids.Limit
	if err := enableV2(dir, "pids"); err != nil {
		return fieldError("pids.limit", limit, err)
	}
	if err := writeFile(dir, "pids.max", pidsMax(limit)); err != nil {
		return fieldError("pids.limit", limit, err)
	}
	return nil
}

func setIOV2(dir string, r *specs.LinuxResources) error {
	b := r.BlockIO
	if b == nil {
		return nil
	}
	if err := enableV2(dir, "io"); err != nil {
		return fieldError("blockIO", nil, err)
	}
	bfq := exists(dir, "io.bfq.weight")
	if b.Weight != nil && *b.Weight != 0 {
		file, val := "io.weight", ConvertBlkioWeightToIOWeight(*b.Weight)
		if bfq {
			// BFQ takes the v1 range (1..1000) as is.
			file, val = "io.bfq.weight", uint64(*b.Weight)
		}
		if !exists(dir, file) {
			return fieldError("blockIO.weight", *b.Weight, errors.New("no proportional I/O scheduler on this host"))
		}
		if err := writeFile(dir, file, strconv.FormatUint(val, 10)); err != nil {
			return fieldError("blockIO.weight", *b.Weight, err)
		}
	}
	for i, wd := range b.WeightDevice {
		field := fmt.Sprintf("blockIO.weightDevice[%d]", i)
		if err := checkDevice(wd.Major, wd.Minor); err != nil {
			return fieldError(field, nil, err)
		}
		if wd.Weight == nil {
			continue
		}
		file, val := "io.weight", ConvertBlkioWeightToIOWeight(*wd.Weight)
		if bfq {
			file, val = "io.bfq.weight", uint64(*wd.Weight)
		}
		if !exists(dir, file) {
			return fieldError(field, nil, errors.New("no proportional I/O scheduler on this host"))
		}
		if err := writeFile(dir, file, throttleLine(wd.Major, wd.Minor, val)); err != nil {
			return fieldError(field, nil, err)
		}
	}
	for _, t := range []struct {
		field, key string
		list       []specs.LinuxThrottleDevice
	}{
		{"throttleReadBpsDevice", "rbps", b.ThrottleReadBpsDevice},
		{"throttleWriteBpsDevice", "wbps", b.ThrottleWriteBpsDevice},
		{"throttleReadIOPSDevice", "riops", b.ThrottleReadIOPSDevice},
		{"throttleWriteIOPSDevice", "wiops", b.ThrottleWriteIOPSDevice},
	} {
		for i, d := range t.list {
			field := fmt.Sprintf("blockIO.%s[%d]", t.field, i)
			if err := checkDevice(d.Major, d.Minor); err != nil {
				return fieldError(field, nil, err)
			}
			if err := writeFile(dir, "io.max", IOMaxLine(d.Major, d.Minor, t.key, d.Rate)); err != nil {
				return fieldError(field, nil, err)
			}
		}
	}
	return nil
}

func setHugetlbV2(dir string, r *specs.LinuxResources) error {
	if len(r.HugepageLimits) == 0 {
		return nil
	}
	m := &Manager{Mode: V2, Paths: map[string]string{"": dir}}
	return m.setHugetlbUnified(r)
}

func setRdmaV2(dir string, r *specs.LinuxResources) error {
	if len(r.Rdma) == 0 {
		return nil
	}
	m := &Manager{Mode: V2, Paths: map[string]string{"": dir}}
	return m.setRdmaUnified(r)
}

func setNetworkV2(dir string, r *specs.LinuxResources) error {
	n := r.Network
	if n != nil && (n.ClassID != nil || len(n.Priorities) > 0) {
		return fieldError("network", nil, errors.New("net_cls and net_prio do not exist on cgroup v2"))
	}
	return nil
}

// unifiedCoreLimit reports whether a cgroup.* file is one unified may
// write: a limit, not the interface the runtime drives the cgroup with.
func unifiedCoreLimit(k string) bool {
	switch k {
	case "cgroup.max.descendants", "cgroup.max.depth", "cgroup.pressure":
		return true
	}
	return false
}

// setUnifiedV2 writes linux.resources.unified: each key is a file of the
// container's cgroup, whose controller is enabled first.
func setUnifiedV2(dir string, r *specs.LinuxResources) error {
	keys := make([]string, 0, len(r.Unified))
	for k := range r.Unified {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		field := "unified." + k
		if k == "" || strings.ContainsAny(k, "/\x00") || k == "." || k == ".." {
			return fieldError(field, nil, errors.New("not a cgroup file name"))
		}
		// The core files place processes, enable controllers, freeze and
		// kill: the runtime's job. Through unified, cgroup.procs would
		// move any host process into the container's cgroup, where
		// delete --force kills it.
		if strings.HasPrefix(k, "cgroup.") && !unifiedCoreLimit(k) {
			return fieldError(field, nil, errors.New("managed by the runtime, not a resource limit"))
		}
		if ctrl, _, ok := strings.Cut(k, "."); ok && ctrl != "cgroup" {
			if err := enableV2(dir, ctrl); err != nil {
				return fieldError(field, nil, err)
			}
		}
		if !exists(dir, k) {
			return fieldError(field, nil, errors.New("no such cgroup file"))
		}
		if err := writeFile(dir, k, r.Unified[k]); err != nil {
			return fieldError(field, r.Unified[k], err)
		}
	}
	return nil
}
