package cgroups

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// setV1 applies resources to the per-controller hierarchies of cgroup v1.
func (m *Manager) setV1(r *specs.LinuxResources) error {
	if len(r.Unified) > 0 {
		return fieldError("unified", nil, errors.New("cannot be used on a cgroup v1 host"))
	}
	for _, f := range []func(*specs.LinuxResources) error{
		m.setMemoryV1, m.setCPUV1, m.setCpusetV1, m.setPidsV1, m.setBlkioV1,
		m.setHugetlbV1, m.setNetworkV1, m.setRdmaV1,
	} {
		if err := f(r); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) setMemoryV1(r *specs.LinuxResources) error {
	mem := r.Memory
	if mem == nil {
		return nil
	}
	dir, ok := m.v1Dir("memory")
	if !ok {
		if mem.Limit != nil || mem.Reservation != nil || mem.Swap != nil || mem.KernelTCP != nil || mem.Swappiness != nil || mem.DisableOOMKiller != nil {
			return fieldError("memory", nil, errNoController("memory"))
		}
		return nil
	}
	if mem.CheckBeforeUpdate != nil && *mem.CheckBeforeUpdate && mem.Limit != nil && *mem.Limit > 0 {
		if usage, err := readUint(dir, "memory.usage_in_bytes"); err == nil && uint64(*mem.Limit) < usage {
			return fieldError("memory.limit", *mem.Limit, fmt.Errorf("below the current usage (%d bytes)", usage))
		}
	}
	if err := setMemoryAndSwapV1(dir, mem); err != nil {
		return err
	}
	if mem.Reservation != nil {
		if err := writeFile(dir, "memory.soft_limit_in_bytes", strconv.FormatInt(*mem.Reservation, 10)); err != nil {
			return fieldError("memory.reservation", *mem.Reservation, err)
		}
	}
	// memory.kernel is deprecated and ignored, as runc does.
	if mem.KernelTCP != nil {
		if !exists(dir, "memory.kmem.tcp.limit_in_bytes") {
			return fieldError("memory.kernelTCP", *mem.KernelTCP, errors.New("kernel TCP memory accounting is not available on this host"))
		}
		if err := writeFile(dir, "memory.kmem.tcp.limit_in_bytes", strconv.FormatInt(*mem.KernelTCP, 10)); err != nil {
			return fieldError("memory.kernelTCP", *mem.KernelTCP, err)
		}
	}
	if mem.Swappiness != nil {
		if *mem.Swappiness > 100 {
			return fieldError("memory.swappiness", *mem.Swappiness, errors.New("must be between 0 and 100"))
		}
		if err := writeFile(dir, "memory.swappiness", strconv.FormatUint(*mem.Swappiness, 10)); err != nil {
			return fieldError("memory.swappiness", *mem.Swappiness, err)
		}
	}
	if mem.DisableOOMKiller != nil && *mem.DisableOOMKiller {
		if err := writeFile(dir, "memory.oom_control", "1"); err != nil {
			return fieldError("memory.disableOOMKiller", true, err)
		}
	}
	return nil
}

// setMemoryAndSwapV1 writes the memory and memory+swap limits in the order
// the kernel accepts: memsw must never be below the memory limit.
func setMemoryAndSwapV1(dir string, mem *specs.LinuxMemory) error {
	writeLimit := func() error {
		if mem.Limit == nil {
			return nil
		}
		if err := writeFile(dir, "memory.limit_in_bytes", strconv.FormatInt(*mem.Limit, 10)); err != nil {
			return fieldError("memory.limit", *mem.Limit, err)
		}
		return nil
	}
	writeSwap := func() error {
		if mem.Swap == nil || *mem.Swap == 0 {
			return nil
		}
		if !exists(dir, "memory.memsw.limit_in_bytes") {
			return fieldError("memory.swap", *mem.Swap, errors.New("swap accounting is not enabled on this host"))
		}
		if err := writeFile(dir, "memory.memsw.limit_in_bytes", strconv.FormatInt(*mem.Swap, 10)); err != nil {
			return fieldError("memory.swap", *mem.Swap, err)
		}
		return nil
	}
	if mem.Swap != nil && *mem.Swap != 0 && mem.Limit != nil && *mem.Swap != -1 && *mem.Limit != -1 && *mem.Swap < *mem.Limit {
		return fieldError("memory.swap", *mem.Swap, fmt.Errorf("memory+swap limit is smaller than the memory limit (%d)", *mem.Limit))
	}
	// Raising: memsw first; lowering: the memory limit first.
	cur, err := readUint(dir, "memory.limit_in_bytes")
	raising := err == nil && mem.Limit != nil && (*mem.Limit == -1 || uint64(*mem.Limit) > cur)
	if raising {
		if err := writeSwap(); err != nil {
			return err
		}
		return writeLimit()
	}
	if err := writeLimit(); err != nil {
		return err
	}
	return writeSwap()
}

func (m *Manager) setCPUV1(r *specs.LinuxResources) error {
	c := r.CPU
	if c == nil {
		return nil
	}
	dir, ok := m.v1Dir("cpu")
	need := c.Shares != nil || c.Quota != nil || c.Period != nil || c.RealtimeRuntime != nil || c.RealtimePeriod != nil || c.Idle != nil || c.Burst != nil
	if !ok {
		if need {
			return fieldError("cpu", nil, errNoController("cpu"))
		}
		return nil
	}
	if c.Shares != nil && *c.Shares != 0 {
		if err := writeFile(dir, "cpu.shares", strconv.FormatUint(*c.Shares, 10)); err != nil {
			return fieldError("cpu.shares", *c.Shares, err)
		}
		// The kernel clamps out-of-range shares silently; say so.
		if got, err := readUint(dir, "cpu.shares"); err == nil && got != *c.Shares {
			return fieldError("cpu.shares", *c.Shares, fmt.Errorf("out of range: the kernel set %d", got))
		}
	}
	if c.Period != nil && *c.Period != 0 {
		if err := writeFile(dir, "cpu.cfs_period_us", strconv.FormatUint(*c.Period, 10)); err != nil {
			return fieldError("cpu.period", *c.Period, err)
		}
	}
	if c.Quota != nil && *c.Quota != 0 {
		if err := writeFile(dir, "cpu.cfs_quota_us", strconv.FormatInt(*c.Quota, 10)); err != nil {
			return fieldError("cpu.quota", *c.Quota, err)
		}
	}
	if c.Burst != nil {
		if !exists(dir, "cpu.cfs_burst_us") {
			return fieldError("cpu.burst", *c.Burst, errors.New("not supported by this kernel"))
		}
		if err := writeFile(dir, "cpu.cfs_burst_us", strconv.FormatUint(*c.Burst, 10)); err != nil {
			return fieldError("cpu.burst", *c.Burst, err)
		}
	}
	if c.RealtimePeriod != nil && *c.RealtimePeriod != 0 {
		if err := writeFile(dir, "cpu.rt_period_us", strconv.FormatUint(*c.RealtimePeriod, 10)); err != nil {
			return fieldError("cpu.realtimePeriod", *c.RealtimePeriod, err)
		}
	}
	if c.RealtimeRuntime != nil && *c.RealtimeRuntime != 0 {
		if err := writeFile(dir, "cpu.rt_runtime_us", strconv.FormatInt(*c.RealtimeRuntime, 10)); err != nil {
			return fieldError("cpu.realtimeRuntime", *c.RealtimeRuntime, err)
		}
	}
	if c.Idle != nil {
		if !exists(dir, "cpu.idle") {
			return fieldError("cpu.idle", *c.Idle, errors.New("not supported by this kernel"))
		}
		if err := writeFile(dir, "cpu.idle", strconv.FormatInt(*c.Idle, 10)); err != nil {
			return fieldError("cpu.idle", *c.Idle, err)
		}
	}
	return nil
}

func (m *Manager) setCpusetV1(r *specs.LinuxResources) error {
	c := r.CPU
	if c == nil || (c.Cpus == "" && c.Mems == "") {
		return nil
	}
	dir, ok := m.v1Dir("cpuset")
	if !ok {
		return fieldError("cpu.cpus", c.Cpus, errNoController("cpuset"))
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

func (m *Manager) setPidsV1(r *specs.LinuxResources) error {
	if r.Pids == nil || r.Pids.Limit == nil {
		return nil // runtime-spec 1.3: an unset limit changes nothing
	}
	limit := *r.Pids.Limit
	dir, ok := m.v1Dir("pids")
	if !ok {
		return fieldError("pids.limit", limit, errNoController("pids"))
	}
	if err := writeFile(dir, "pids.max", pidsMax(limit)); err != nil {
		return fieldError("pids.limit", limit, err)
	}
	return nil
}

// pidsMax formats pids.max: 0 or less is unlimited, as runc reads it.
func pidsMax(limit int64) string {
	if limit <= 0 {
		return "max"
	}
	return strconv.FormatInt(limit, 10)
}

func (m *Manager) setBlkioV1(r *specs.LinuxResources) error {
	b := r.BlockIO
	if b == nil {
		return nil
	}
	dir, ok := m.v1Dir("blkio")
	if !ok {
		return fieldError("blockIO", nil, errNoController("blkio"))
	}
	weightFile, weightDevFile := "blkio.weight", "blkio.weight_device"
	if !exists(dir, weightFile) && exists(dir, "blkio.bfq.weight") {
		weightFile, weightDevFile = "blkio.bfq.weight", "blkio.bfq.weight_device"
	}
	if b.Weight != nil && *b.Weight != 0 {
		if !exists(dir, weightFile) {
			return fieldError("blockIO.weight", *b.Weight, errors.New("no proportional I/O scheduler (CFQ or BFQ) on this host"))
		}
		if err := writeFile(dir, weightFile, strconv.FormatUint(uint64(*b.Weight), 10)); err != nil {
			return fieldError("blockIO.weight", *b.Weight, err)
		}
	}
	if b.LeafWeight != nil && *b.LeafWeight != 0 {
		if !exists(dir, "blkio.leaf_weight") {
			return fieldError("blockIO.leafWeight", *b.LeafWeight, errors.New("not supported by this kernel"))
		}
		if err := writeFile(dir, "blkio.leaf_weight", strconv.FormatUint(uint64(*b.LeafWeight), 10)); err != nil {
			return fieldError("blockIO.leafWeight", *b.LeafWeight, err)
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
		if !exists(dir, weightDevFile) {
			return fieldError(field, nil, errors.New("no proportional I/O scheduler (CFQ or BFQ) on this host"))
		}
		if err := writeFile(dir, weightDevFile, throttleLine(wd.Major, wd.Minor, uint64(*wd.Weight))); err != nil {
			return fieldError(field, nil, err)
		}
	}
	for _, t := range []struct {
		field, file string
		list        []specs.LinuxThrottleDevice
	}{
		{"throttleReadBpsDevice", "blkio.throttle.read_bps_device", b.ThrottleReadBpsDevice},
		{"throttleWriteBpsDevice", "blkio.throttle.write_bps_device", b.ThrottleWriteBpsDevice},
		{"throttleReadIOPSDevice", "blkio.throttle.read_iops_device", b.ThrottleReadIOPSDevice},
		{"throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", b.ThrottleWriteIOPSDevice},
	} {
		for i, d := range t.list {
			field := fmt.Sprintf("blockIO.%s[%d]", t.field, i)
			if err := checkDevice(d.Major, d.Minor); err != nil {
				return fieldError(field, nil, err)
			}
			if err := writeFile(dir, t.file, throttleLine(d.Major, d.Minor, d.Rate)); err != nil {
				return fieldError(field, nil, err)
			}
		}
	}
	return nil
}

// setHugetlbV1 writes hugetlb limits to the v1 hugetlb hierarchy or, on a
// hybrid host that has hugetlb only in the unified hierarchy, there.
func (m *Manager) setHugetlbV1(r *specs.LinuxResources) error {
	if len(r.HugepageLimits) == 0 {
		return nil
	}
	if dir, ok := m.v1Dir("hugetlb"); ok {
		for i, h := range r.HugepageLimits {
			field := fmt.Sprintf("hugepageLimits[%d]", i)
			file := "hugetlb." + h.Pagesize + ".limit_in_bytes"
			if !exists(dir, file) {
				return fieldError(field, h.Pagesize, errors.New("unknown huge page size"))
			}
			if err := writeFile(dir, file, strconv.FormatUint(h.Limit, 10)); err != nil {
				return fieldError(field, nil, err)
			}
		}
		return nil
	}
	return m.setHugetlbUnified(r)
}

func (m *Manager) setNetworkV1(r *specs.LinuxResources) error {
	n := r.Network
	if n == nil {
		return nil
	}
	if n.ClassID != nil {
		dir, ok := m.v1Dir("net_cls")
		if !ok {
			return fieldError("network.classID", *n.ClassID, errNoController("net_cls"))
		}
		if err := writeFile(dir, "net_cls.classid", strconv.FormatUint(uint64(*n.ClassID), 10)); err != nil {
			return fieldError("network.classID", *n.ClassID, err)
		}
	}
	if len(n.Priorities) > 0 {
		dir, ok := m.v1Dir("net_prio")
		if !ok {
			return fieldError("network.priorities", nil, errNoController("net_prio"))
		}
		for i, p := range n.Priorities {
			if err := writeFile(dir, "net_prio.ifpriomap", fmt.Sprintf("%s %d", p.Name, p.Priority)); err != nil {
				return fieldError(fmt.Sprintf("network.priorities[%d]", i), nil, err)
			}
		}
	}
	return nil
}

func (m *Manager) setRdmaV1(r *specs.LinuxResources) error {
	if len(r.Rdma) == 0 {
		return nil
	}
	if dir, ok := m.v1Dir("rdma"); ok {
		return writeRdma(dir, r.Rdma)
	}
	return m.setRdmaUnified(r)
}

// writeRdma writes rdma.max, one line per device, in a stable order.
func writeRdma(dir string, rdma map[string]specs.LinuxRdma) error {
	names := make([]string, 0, len(rdma))
	for n := range rdma {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		line := RdmaLine(n, rdma[n])
		if err := writeFile(dir, "rdma.max", line); err != nil {
			return fieldError("rdma."+n, nil, err)
		}
	}
	return nil
}

// RdmaLine formats one rdma.max entry ("mlx4_0 hca_handle=2 hca_object=max").
func RdmaLine(dev string, l specs.LinuxRdma) string {
	parts := []string{dev}
	if l.HcaHandles != nil {
		parts = append(parts, "hca_handle="+strconv.FormatUint(uint64(*l.HcaHandles), 10))
	}
	if l.HcaObjects != nil {
		parts = append(parts, "hca_object="+strconv.FormatUint(uint64(*l.HcaObjects), 10))
	}
	return strings.Join(parts, " ")
}

// setHugetlbUnified writes hugetlb limits in the unified hierarchy.
func (m *Manager) setHugetlbUnified(r *specs.LinuxResources) error {
	dir, ok := m.v2Dir()
	if !ok {
		return fieldError("hugepageLimits", nil, errNoController("hugetlb"))
	}
	if err := enableV2(dir, "hugetlb"); err != nil {
		return fieldError("hugepageLimits", nil, err)
	}
	for i, h := range r.HugepageLimits {
		field := fmt.Sprintf("hugepageLimits[%d]", i)
		file := "hugetlb." + h.Pagesize + ".max"
		if !exists(dir, file) {
			return fieldError(field, h.Pagesize, errors.New("unknown huge page size"))
		}
		if err := writeFile(dir, file, strconv.FormatUint(h.Limit, 10)); err != nil {
			return fieldError(field, nil, err)
		}
		// Reservations are limited too where the kernel accounts them
		// (5.7+), as runc does: otherwise a mapping reserved but not yet
		// faulted escapes the limit.
		if rsvd := "hugetlb." + h.Pagesize + ".rsvd.max"; exists(dir, rsvd) {
			if err := writeFile(dir, rsvd, strconv.FormatUint(h.Limit, 10)); err != nil {
				return fieldError(field, nil, err)
			}
		}
	}
	return nil
}

// setRdmaUnified writes rdma limits in the unified hierarchy.
func (m *Manager) setRdmaUnified(r *specs.LinuxResources) error {
	dir, ok := m.v2Dir()
	if !ok {
		return fieldError("rdma", nil, errNoController("rdma"))
	}
	if err := enableV2(dir, "rdma"); err != nil {
		return fieldError("rdma", nil, err)
	}
	return writeRdma(dir, r.Rdma)
}
