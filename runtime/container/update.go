package container

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Update applies new resource limits to a created, running or paused
// container and records them in its saved configuration, as runc update
// does. Fields left nil in r keep their current value.
func Update(root, id string, r *specs.LinuxResources) error {
	st, unlock, err := loadLocked(root, id)
	if err != nil {
		return err
	}
	defer unlock()
	switch st.Status() {
	case specs.StateCreated, specs.StateRunning, StatePaused:
	default:
		return fmt.Errorf("cannot update container %s: %w", id, ErrNotRunning)
	}
	if st.Cgroup == nil {
		return fmt.Errorf("cannot update container %s: it has no cgroup", id)
	}
	// Devices are not changed by update (runc's neither).
	r.Devices = nil
	if err := st.Cgroup.Update(r); err != nil {
		return fmt.Errorf("update container %s: %w", id, err)
	}
	if st.Config != nil && st.Config.Linux != nil {
		if st.Config.Linux.Resources == nil {
			st.Config.Linux.Resources = &specs.LinuxResources{}
		}
		MergeResources(st.Config.Linux.Resources, r)
		if err := st.save(); err != nil {
			return err
		}
	}
	return nil
}

// MergeResources copies the fields set in src over dst.
func MergeResources(dst, src *specs.LinuxResources) {
	if src.Memory != nil {
		if dst.Memory == nil {
			dst.Memory = &specs.LinuxMemory{}
		}
		m, s := dst.Memory, src.Memory
		setIf(&m.Limit, s.Limit)
		setIf(&m.Reservation, s.Reservation)
		setIf(&m.Swap, s.Swap)
		setIf(&m.KernelTCP, s.KernelTCP)
		setIf(&m.Swappiness, s.Swappiness)
		setIf(&m.DisableOOMKiller, s.DisableOOMKiller)
	}
	if src.CPU != nil {
		if dst.CPU == nil {
			dst.CPU = &specs.LinuxCPU{}
		}
		c, s := dst.CPU, src.CPU
		setIf(&c.Shares, s.Shares)
		setIf(&c.Quota, s.Quota)
		setIf(&c.Period, s.Period)
		setIf(&c.Burst, s.Burst)
		setIf(&c.RealtimeRuntime, s.RealtimeRuntime)
		setIf(&c.RealtimePeriod, s.RealtimePeriod)
		setIf(&c.Idle, s.Idle)
		if s.Cpus != "" {
			c.Cpus = s.Cpus
		}
		if s.Mems != "" {
			c.Mems = s.Mems
		}
	}
	if src.Pids != nil {
		dst.Pids = src.Pids
	}
	if src.BlockIO != nil {
		dst.BlockIO = src.BlockIO
	}
	if len(src.HugepageLimits) > 0 {
		dst.HugepageLimits = src.HugepageLimits
	}
	if src.Network != nil {
		dst.Network = src.Network
	}
	if len(src.Rdma) > 0 {
		dst.Rdma = src.Rdma
	}
	for k, v := range src.Unified {
		if dst.Unified == nil {
			dst.Unified = map[string]string{}
		}
		dst.Unified[k] = v
	}
}

func setIf[T any](dst **T, src *T) {
	if src != nil {
		v := *src
		*dst = &v
	}
}
