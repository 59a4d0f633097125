package ocispec

import (
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"runtime"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// minMemory is the smallest memory limit Docker accepts (6 MiB).
const minMemory = 6 << 20

// cpuPeriod is the CFS period --cpus is expressed in, as Docker.
const cpuPeriod = 100000

// CPU shares Docker clamps to on cgroup v1.
const (
	minShares = 2
	maxShares = 262144
)

// flagErr words a bad flag value as Docker's CLI does.
func flagErr(flag, val string, err error) error {
	return fmt.Errorf("invalid argument %q for %q flag: %w", val, flag, err)
}

// resources fills s.Linux.Resources from the resource flags.
func resources(o *Options, r *specs.LinuxResources) error {
	mem, err := memory(o)
	if err != nil {
		return err
	}
	if mem != nil {
		r.Memory = mem
	}
	cpu, err := cpu(o)
	if err != nil {
		return err
	}
	if cpu != nil {
		r.CPU = cpu
	}
	if o.PidsLimit != "" {
		n, err := strconv.ParseInt(o.PidsLimit, 10, 64)
		if err != nil {
			return flagErr("--pids-limit", o.PidsLimit, err)
		}
		if n <= 0 {
			n = -1 // 0 and negative mean unlimited, as Docker
		}
		r.Pids = &specs.LinuxPids{Limit: &n}
	}
	return nil
}

// memory returns the memory limits: --memory, --memory-swap (-1 is
// unlimited; unset is twice --memory, as Docker), --memory-reservation.
func memory(o *Options) (*specs.LinuxMemory, error) {
	var m specs.LinuxMemory
	set := false
	var limit, swap, reservation int64
	if o.Memory != "" {
		n, err := ParseSize(o.Memory)
		if err != nil {
			return nil, flagErr("--memory", o.Memory, err)
		}
		if n != 0 && n < minMemory {
			return nil, flagErr("--memory", o.Memory, fmt.Errorf("minimum memory limit allowed is 6MB"))
		}
		limit = n
	}
	if o.MemorySwap != "" {
		if o.MemorySwap == "-1" {
			swap = -1
		} else {
			n, err := ParseSize(o.MemorySwap)
			if err != nil {
				return nil, flagErr("--memory-swap", o.MemorySwap, err)
			}
			swap = n
		}
	}
	if o.MemoryReservation != "" {
		n, err := ParseSize(o.MemoryReservation)
		if err != nil {
			return nil, flagErr("--memory-reservation", o.MemoryReservation, err)
		}
		if n != 0 && n < minMemory {
			return nil, flagErr("--memory-reservation", o.MemoryReservation, fmt.Errorf("minimum memory reservation allowed is 6MB"))
		}
		reservation = n
	}
	switch {
	case limit > 0 && swap > 0 && swap < limit:
		return nil, flagErr("--memory-swap", o.MemorySwap, fmt.Errorf("minimum memoryswap limit should be larger than memory limit (%s), see usage", o.Memory))
	case limit == 0 && swap > 0:
		return nil, flagErr("--memory-swap", o.MemorySwap, fmt.Errorf("you should always set the memory limit when using memoryswap limit, see usage"))
	case limit > 0 && reservation > 0 && limit < reservation:
		return nil, flagErr("--memory-reservation", o.MemoryReservation, fmt.Errorf("minimum memory limit (%s) can not be less than memory reservation limit, see usage", o.Memory))
	}
	if limit > 0 {
		m.Limit, set = &limit, true
		if swap == 0 && limit <= (1<<62) {
			swap = 2 * limit // Docker's default: as much swap as memory
		}
		if swap != 0 {
			if swapLimitSupported() {
				m.Swap = &swap
			} else {
				slog.Warn("the kernel does not support swap limits or the cgroup is not mounted; memory limited without swap")
			}
		}
	}
	if reservation > 0 {
		m.Reservation, set = &reservation, true
	}
	if !set {
		return nil, nil
	}
	return &m, nil
}

// swapLimitSupported reports whether the host's memory cgroup can limit
// swap (cgroup v1 swap accounting, or cgroup v2), as Docker checks.
func swapLimitSupported() bool {
	for _, p := range []string{
		"/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes",
		"/sys/fs/cgroup/memory.swap.max", // a cgroup v2 host: a child's file
	} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/cgroup.subtree_control"); err == nil {
		return strings.Contains(string(b), "memory")
	}
	return false
}

// cpu returns the CPU limits: --cpus (as a CFS quota over a 100ms period),
// --cpu-shares, --cpuset-cpus and --cpuset-mems.
func cpu(o *Options) (*specs.LinuxCPU, error) {
	var c specs.LinuxCPU
	set := false
	if o.CPUs != "" {
		quota, err := cpuQuota(o.CPUs)
		if err != nil {
			return nil, flagErr("--cpus", o.CPUs, err)
		}
		if quota > 0 {
			period := uint64(cpuPeriod)
			c.Quota, c.Period, set = &quota, &period, true
		}
	}
	if o.CPUShares != "" {
		n, err := strconv.ParseInt(o.CPUShares, 10, 64)
		if err != nil {
			return nil, flagErr("--cpu-shares", o.CPUShares, err)
		}
		if n < 0 {
			return nil, flagErr("--cpu-shares", o.CPUShares, fmt.Errorf("shares must be positive"))
		}
		if n > 0 {
			// Docker clamps to the kernel's range (with a warning).
			n = min(max(n, minShares), maxShares)
			s := uint64(n)
			c.Shares, set = &s, true
		}
	}
	if o.CPUSetCPUs != "" {
		if err := validIDList(o.CPUSetCPUs); err != nil {
			return nil, flagErr("--cpuset-cpus", o.CPUSetCPUs, err)
		}
		c.Cpus, set = o.CPUSetCPUs, true
	}
	if o.CPUSetMems != "" {
		if err := validIDList(o.CPUSetMems); err != nil {
			return nil, flagErr("--cpuset-mems", o.CPUSetMems, err)
		}
		c.Mems, set = o.CPUSetMems, true
	}
	if !set {
		return nil, nil
	}
	return &c, nil
}

// cpuQuota turns --cpus (a rational number of CPUs: 1.5, 3/2, as
// Docker's big.Rat parsing) into a CFS quota in
// microseconds per cpuPeriod, refusing what Docker refuses: more precision
// than a nano-CPU, fewer than 0.01 CPUs, more CPUs than the host has.
func cpuQuota(v string) (int64, error) {
	r, ok := new(big.Rat).SetString(v)
	if !ok {
		return 0, fmt.Errorf("failed to parse %v as a rational number", v)
	}
	nano := new(big.Rat).Mul(r, big.NewRat(1e9, 1))
	if !nano.IsInt() {
		return 0, fmt.Errorf("value is too precise")
	}
	ncpu := runtime.NumCPU()
	rangeErr := fmt.Errorf("range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available", ncpu, ncpu)
	if nano.Sign() < 0 || nano.Cmp(big.NewRat(int64(ncpu)*1e9, 1)) > 0 {
		return 0, rangeErr
	}
	n := nano.Num().Int64()
	if n == 0 {
		return 0, nil
	}
	quota := n * cpuPeriod / 1e9
	if quota < 1000 {
		return 0, rangeErr
	}
	return quota, nil
}

// validIDList checks a cpuset list ("0-3,5,7-8") as Docker's
// ParseUintList: comma-separated numbers or ascending ranges.
func validIDList(v string) error {
	for _, part := range strings.Split(v, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 16)
		if err != nil {
			return fmt.Errorf("invalid format: %s", v)
		}
		if isRange {
			b, err := strconv.ParseUint(hi, 10, 16)
			if err != nil || b < a {
				return fmt.Errorf("invalid format: %s", v)
			}
		}
	}
	return nil
}
