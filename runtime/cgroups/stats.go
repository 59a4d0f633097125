package cgroups

import (
	"os"
	"path/filepath"
	"strings"
)

// nsPerTick is nanoseconds per USER_HZ clock tick.
const nsPerTick = 1e9 / 100

// Stats are a cgroup's usage figures, in the JSON of runc's `events`.
type Stats struct {
	CPU     CPU                `json:"cpu"`
	Memory  Memory             `json:"memory"`
	Pids    Pids               `json:"pids"`
	Blkio   Blkio              `json:"blkio"`
	Hugetlb map[string]Hugetlb `json:"hugetlb"`
}

// CPU is CPU time used and throttling.
type CPU struct {
	Usage      CPUUsage   `json:"usage,omitempty"`
	Throttling Throttling `json:"throttling,omitempty"`
}

// CPUUsage is CPU time in nanoseconds.
type CPUUsage struct {
	Kernel uint64   `json:"kernel"`
	User   uint64   `json:"user"`
	Total  uint64   `json:"total,omitempty"`
	Percpu []uint64 `json:"percpu,omitempty"`
}

// Throttling counts CFS bandwidth periods and the time throttled (ns).
type Throttling struct {
	Periods          uint64 `json:"periods,omitempty"`
	ThrottledPeriods uint64 `json:"throttledPeriods,omitempty"`
	ThrottledTime    uint64 `json:"throttledTime,omitempty"`
}

// MemoryEntry is one memory counter with its limit.
type MemoryEntry struct {
	Limit   uint64 `json:"limit"`
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

// Memory is memory usage; Raw is memory.stat.
type Memory struct {
	Cache     uint64            `json:"cache,omitempty"`
	Usage     MemoryEntry       `json:"usage,omitempty"`
	Swap      MemoryEntry       `json:"swap,omitempty"`
	Kernel    MemoryEntry       `json:"kernel,omitempty"`
	KernelTCP MemoryEntry       `json:"kernelTCP,omitempty"`
	Raw       map[string]uint64 `json:"raw,omitempty"`
}

// Pids is the number of tasks and their limit (0: unlimited).
type Pids struct {
	Current uint64 `json:"current,omitempty"`
	Limit   uint64 `json:"limit,omitempty"`
}

// BlkioEntry is one per-device, per-operation counter.
type BlkioEntry struct {
	Major uint64 `json:"major,omitempty"`
	Minor uint64 `json:"minor,omitempty"`
	Op    string `json:"op,omitempty"`
	Value uint64 `json:"value,omitempty"`
}

// Blkio is block I/O done.
type Blkio struct {
	IoServiceBytesRecursive []BlkioEntry `json:"ioServiceBytesRecursive,omitempty"`
	IoServicedRecursive     []BlkioEntry `json:"ioServicedRecursive,omitempty"`
}

// Hugetlb is huge page usage of one page size.
type Hugetlb struct {
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

// Stats reads the cgroup's usage. A controller the host lacks leaves its
// part zero; a file that cannot be read is an error.
func (m *Manager) Stats() (*Stats, error) {
	s := &Stats{Hugetlb: map[string]Hugetlb{}}
	if m.Mode == V2 {
		dir, _ := m.v2Dir()
		return s, statsV2(dir, s)
	}
	return s, m.statsV1(s)
}

func (m *Manager) statsV1(s *Stats) error {
	if dir, ok := m.v1Dir("memory"); ok {
		raw, err := readKeyValues(dir, "memory.stat")
		if err != nil {
			return err
		}
		s.Memory.Raw = raw
		s.Memory.Cache = raw["cache"]
		for _, e := range []struct {
			prefix string
			entry  *MemoryEntry
		}{
			{"memory", &s.Memory.Usage},
			{"memory.memsw", &s.Memory.Swap},
			{"memory.kmem", &s.Memory.Kernel},
			{"memory.kmem.tcp", &s.Memory.KernelTCP},
		} {
			if !exists(dir, e.prefix+".usage_in_bytes") {
				continue
			}
			var err error
			if e.entry.Usage, err = readUint(dir, e.prefix+".usage_in_bytes"); err != nil {
				return err
			}
			e.entry.Max, _ = readUint(dir, e.prefix+".max_usage_in_bytes")
			e.entry.Failcnt, _ = readUint(dir, e.prefix+".failcnt")
			e.entry.Limit, _ = readUint(dir, e.prefix+".limit_in_bytes")
		}
	}
	if dir, ok := m.v1Dir("cpuacct"); ok {
		var err error
		if s.CPU.Usage.Total, err = readUint(dir, "cpuacct.usage"); err != nil {
			return err
		}
		if b, err := os.ReadFile(filepath.Join(dir, "cpuacct.usage_percpu")); err == nil {
			s.CPU.Usage.Percpu, _ = ParseUintList(b)
		}
		// cpuacct.stat counts USER_HZ ticks (100 a second on Linux), as
		// runc reads them.
		if st, err := readKeyValues(dir, "cpuacct.stat"); err == nil {
			s.CPU.Usage.User = st["user"] * nsPerTick
			s.CPU.Usage.Kernel = st["system"] * nsPerTick
		}
	}
	if dir, ok := m.v1Dir("cpu"); ok {
		st, err := readKeyValues(dir, "cpu.stat")
		if err != nil {
			return err
		}
		s.CPU.Throttling = Throttling{Periods: st["nr_periods"], ThrottledPeriods: st["nr_throttled"], ThrottledTime: st["throttled_time"]}
	}
	if dir, ok := m.v1Dir("pids"); ok {
		if err := readPids(dir, s); err != nil {
			return err
		}
	}
	if dir, ok := m.v1Dir("blkio"); ok {
		for _, prefix := range []string{"blkio.", "blkio.throttle.", "blkio.bfq."} {
			b, err := os.ReadFile(filepath.Join(dir, prefix+"io_service_bytes_recursive"))
			if err != nil {
				continue
			}
			s.Blkio.IoServiceBytesRecursive = ParseBlkioFile(b)
			if b, err := os.ReadFile(filepath.Join(dir, prefix+"io_serviced_recursive")); err == nil {
				s.Blkio.IoServicedRecursive = ParseBlkioFile(b)
			}
			break
		}
	}
	if dir, ok := m.v1Dir("hugetlb"); ok {
		hugetlbStats(dir, ".usage_in_bytes", ".max_usage_in_bytes", ".failcnt", s)
	} else if dir, ok := m.v2Dir(); ok {
		hugetlbStats(dir, ".current", "", ".events", s)
	}
	return nil
}

func readPids(dir string, s *Stats) error {
	var err error
	if s.Pids.Current, err = readUint(dir, "pids.current"); err != nil {
		return err
	}
	if lim, err := readUint(dir, "pids.max"); err == nil && lim != ^uint64(0) {
		s.Pids.Limit = lim
	}
	return nil
}

// hugetlbStats fills one entry per page size that has files in dir.
func hugetlbStats(dir, usage, max, failcnt string, s *Stats) {
	sizes, _ := filepath.Glob(filepath.Join(dir, "hugetlb.*"+usage))
	for _, p := range sizes {
		size := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "hugetlb."), usage)
		if strings.Contains(size, ".") {
			continue // hugetlb.2MB.rsvd.*
		}
		var h Hugetlb
		h.Usage, _ = readUint(dir, "hugetlb."+size+usage)
		if max != "" {
			h.Max, _ = readUint(dir, "hugetlb."+size+max)
		}
		if failcnt == ".events" {
			if ev, err := readKeyValues(dir, "hugetlb."+size+".events"); err == nil {
				h.Failcnt = ev["max"]
			}
		} else {
			h.Failcnt, _ = readUint(dir, "hugetlb."+size+failcnt)
		}
		s.Hugetlb[size] = h
	}
}

func statsV2(dir string, s *Stats) error {
	if exists(dir, "memory.stat") {
		raw, err := readKeyValues(dir, "memory.stat")
		if err != nil {
			return err
		}
		s.Memory.Raw = raw
		s.Memory.Cache = raw["file"]
		if s.Memory.Usage.Usage, err = readUint(dir, "memory.current"); err != nil {
			return err
		}
		s.Memory.Usage.Limit, _ = readUint(dir, "memory.max")
		s.Memory.Usage.Max, _ = readUint(dir, "memory.peak")
		if ev, err := readKeyValues(dir, "memory.events"); err == nil {
			s.Memory.Usage.Failcnt = ev["max"]
		}
		if exists(dir, "memory.swap.current") {
			swap, _ := readUint(dir, "memory.swap.current")
			s.Memory.Swap.Usage = swap + s.Memory.Usage.Usage
			s.Memory.Swap.Limit, _ = readUint(dir, "memory.swap.max")
		}
	}
	st, err := readKeyValues(dir, "cpu.stat")
	if err != nil {
		return err
	}
	// cpu.stat counts microseconds; runc reports nanoseconds.
	s.CPU.Usage.Total = st["usage_usec"] * 1000
	s.CPU.Usage.User = st["user_usec"] * 1000
	s.CPU.Usage.Kernel = st["system_usec"] * 1000
	s.CPU.Throttling = Throttling{Periods: st["nr_periods"], ThrottledPeriods: st["nr_throttled"], ThrottledTime: st["throttled_usec"] * 1000}
	if exists(dir, "pids.current") {
		if err := readPids(dir, s); err != nil {
			return err
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "io.stat")); err == nil {
		s.Blkio.IoServiceBytesRecursive, s.Blkio.IoServicedRecursive = ParseIOStat(b)
	}
	hugetlbStats(dir, ".current", "", ".events", s)
	return nil
}
