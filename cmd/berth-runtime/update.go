package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"

	"berth/runtime/container"
)

// updateFlags are runc update's flags, kept as strings so an unset flag is
// told apart from a zero.
type updateFlags struct {
	resources                          string
	memory, memoryReservation, memSwap string
	cpuShares, cpuQuota, cpuPeriod     string
	cpuRtPeriod, cpuRtRuntime          string
	cpusetCpus, cpusetMems             string
	pidsLimit, blkioWeight             string
	kernelMemoryTCP                    string
	l3CacheSchema, memBwSchema         string
}

func newUpdateCommand(g *globals) *cobra.Command {
	var u updateFlags
	cmd := &cobra.Command{
		Use:   "update [flags] <container-id>",
		Short: "change the resource limits of a container",
		Long: "Change the resource limits of a created, running or paused container, " +
			"from flags or from a linux.resources JSON file (-r FILE, or - for stdin).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := u.build(cmd)
			if err != nil {
				return err
			}
			return container.Update(g.root, args[0], r)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&u.resources, "resources", "r", "", "path of a linux.resources JSON file (- for stdin)")
	f.StringVar(&u.memory, "memory", "", "memory limit (bytes, or with a k/m/g suffix; -1 unlimited)")
	f.StringVar(&u.memoryReservation, "memory-reservation", "", "memory soft limit")
	f.StringVar(&u.memSwap, "memory-swap", "", "memory plus swap limit (-1 unlimited)")
	f.StringVar(&u.cpuShares, "cpu-shares", "", "CPU shares (relative weight)")
	f.StringVar(&u.cpuQuota, "cpu-quota", "", "CPU time in microseconds per period (-1 unlimited)")
	f.StringVar(&u.cpuPeriod, "cpu-period", "", "CPU CFS period in microseconds")
	f.StringVar(&u.cpuRtPeriod, "cpu-rt-period", "", "CPU realtime period in microseconds")
	f.StringVar(&u.cpuRtRuntime, "cpu-rt-runtime", "", "CPU realtime runtime in microseconds")
	f.StringVar(&u.cpusetCpus, "cpuset-cpus", "", "CPUs to run on (0-3, 0,1)")
	f.StringVar(&u.cpusetMems, "cpuset-mems", "", "memory nodes to use (0-3, 0,1)")
	f.StringVar(&u.pidsLimit, "pids-limit", "", "maximum number of tasks (0 or -1 unlimited)")
	f.StringVar(&u.blkioWeight, "blkio-weight", "", "block I/O weight (10 to 1000)")
	f.StringVar(&u.kernelMemoryTCP, "kernel-memory-tcp", "", "kernel TCP buffer memory limit (cgroup v1 only)")
	f.StringVar(&u.l3CacheSchema, "l3-cache-schema", "", "Intel RDT L3 cache schema (needs resctrl)")
	f.StringVar(&u.memBwSchema, "mem-bw-schema", "", "Intel RDT memory bandwidth schema (needs resctrl)")
	return cmd
}

// build makes the resources to apply: the -r file, then the flags given.
func (u *updateFlags) build(cmd *cobra.Command) (*specs.LinuxResources, error) {
	r := &specs.LinuxResources{}
	if u.resources != "" {
		var in io.Reader = os.Stdin
		if u.resources != "-" {
			f, err := os.Open(u.resources)
			if err != nil {
				return nil, fmt.Errorf("--resources: %w", err)
			}
			defer f.Close()
			in = f
		}
		dec := json.NewDecoder(in)
		dec.DisallowUnknownFields()
		if err := dec.Decode(r); err != nil {
			return nil, fmt.Errorf("--resources %s: parse linux.resources JSON: %w", u.resources, err)
		}
	}
	changed := func(name string) bool { return cmd.Flags().Changed(name) }
	for _, name := range []string{"l3-cache-schema", "mem-bw-schema"} {
		if changed(name) {
			return nil, fmt.Errorf("--%s: %w", name, container.CheckIntelRdt())
		}
	}
	mem := func() *specs.LinuxMemory {
		if r.Memory == nil {
			r.Memory = &specs.LinuxMemory{}
		}
		return r.Memory
	}
	cpu := func() *specs.LinuxCPU {
		if r.CPU == nil {
			r.CPU = &specs.LinuxCPU{}
		}
		return r.CPU
	}
	for _, b := range []struct {
		flag, val string
		dst       func() **int64
	}{
		{"memory", u.memory, func() **int64 { return &mem().Limit }},
		{"memory-reservation", u.memoryReservation, func() **int64 { return &mem().Reservation }},
		{"memory-swap", u.memSwap, func() **int64 { return &mem().Swap }},
		{"kernel-memory-tcp", u.kernelMemoryTCP, func() **int64 { return &mem().KernelTCP }},
	} {
		if !changed(b.flag) {
			continue
		}
		v, err := parseBytes(b.val)
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", b.flag, err)
		}
		*b.dst() = &v
	}
	for _, b := range []struct {
		flag, val string
		dst       func() **uint64
	}{
		{"cpu-shares", u.cpuShares, func() **uint64 { return &cpu().Shares }},
		{"cpu-period", u.cpuPeriod, func() **uint64 { return &cpu().Period }},
		{"cpu-rt-period", u.cpuRtPeriod, func() **uint64 { return &cpu().RealtimePeriod }},
	} {
		if !changed(b.flag) {
			continue
		}
		v, err := strconv.ParseUint(b.val, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("--%s %q: not a number", b.flag, b.val)
		}
		*b.dst() = &v
	}
	for _, b := range []struct {
		flag, val string
		dst       func() **int64
	}{
		{"cpu-quota", u.cpuQuota, func() **int64 { return &cpu().Quota }},
		{"cpu-rt-runtime", u.cpuRtRuntime, func() **int64 { return &cpu().RealtimeRuntime }},
	} {
		if !changed(b.flag) {
			continue
		}
		v, err := strconv.ParseInt(b.val, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("--%s %q: not a number", b.flag, b.val)
		}
		*b.dst() = &v
	}
	if changed("cpuset-cpus") {
		cpu().Cpus = u.cpusetCpus
	}
	if changed("cpuset-mems") {
		cpu().Mems = u.cpusetMems
	}
	if changed("pids-limit") {
		v, err := strconv.ParseInt(u.pidsLimit, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("--pids-limit %q: not a number", u.pidsLimit)
		}
		r.Pids = &specs.LinuxPids{Limit: &v}
	}
	if changed("blkio-weight") {
		v, err := strconv.ParseUint(u.blkioWeight, 10, 16)
		if err != nil || (v != 0 && (v < 10 || v > 1000)) {
			return nil, fmt.Errorf("--blkio-weight %q: must be between 10 and 1000", u.blkioWeight)
		}
		w := uint16(v)
		if r.BlockIO == nil {
			r.BlockIO = &specs.LinuxBlockIO{}
		}
		r.BlockIO.Weight = &w
	}
	return r, nil
}

// parseBytes reads a size as docker and runc take it: a number of bytes
// with an optional binary suffix (k, m, g, t, with or without b), or -1.
func parseBytes(s string) (int64, error) {
	if s == "-1" {
		return -1, nil
	}
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "b"), "i")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		case 't':
			mult = 1 << 40
		}
		if mult != 1 {
			t = t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || v*float64(mult) > float64(1<<62) {
		return 0, fmt.Errorf("%q: not a size (bytes, or a number with k, m, g or t)", s)
	}
	return int64(v * float64(mult)), nil
}
