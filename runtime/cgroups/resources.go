package cgroups

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Set applies linux.resources to the cgroup Create has made, for a new
// container. Each limit the host cannot apply (an absent controller, an
// invalid cpuset, a device that does not exist) is an error naming the
// field of config.json. Device rules are always written, as runc does: a
// config without linux.resources.devices allows only the default devices.
func (m *Manager) Set(r *specs.LinuxResources) error {
	if err := m.setLimits(r); err != nil {
		return err
	}
	devices := []specs.LinuxDeviceCgroup{}
	if r != nil && r.Devices != nil {
		devices = r.Devices
	}
	// setDevices names the offending rule (linux.resources.devices[i]).
	return m.setDevices(devices)
}

// Update changes the limits of a live container: fields left nil keep
// their value, and the device rules are changed only when r has some.
func (m *Manager) Update(r *specs.LinuxResources) error {
	if err := m.setLimits(r); err != nil {
		return err
	}
	if r == nil || r.Devices == nil {
		return nil
	}
	return m.setDevices(r.Devices)
}

// setLimits applies every resource but the devices.
func (m *Manager) setLimits(r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	if m.Mode == V2 {
		return m.setV2(r)
	}
	return m.setV1(r)
}

// fieldError is a limit that could not be applied, named by its field.
func fieldError(field string, val any, err error) error {
	if val == nil {
		return fmt.Errorf("linux.resources.%s: %w", field, err)
	}
	return fmt.Errorf("linux.resources.%s: %q: %w", field, fmt.Sprint(val), err)
}

// errNoController says a controller the limit needs is not available.
func errNoController(ctrl string) error {
	return fmt.Errorf("the %s cgroup controller is not available on this host", ctrl)
}

// v1Dir returns the directory of the v1 hierarchy that holds ctrl.
func (m *Manager) v1Dir(ctrl string) (string, bool) {
	for name, dir := range m.Paths {
		for _, c := range strings.Split(name, ",") {
			if c == ctrl {
				return dir, true
			}
		}
	}
	return "", false
}

// v2Dir returns the directory of the unified hierarchy ("" on a v2 host,
// "unified" beside v1 on a hybrid host).
func (m *Manager) v2Dir() (string, bool) {
	if d, ok := m.Paths[""]; ok && m.Mode == V2 {
		return d, true
	}
	d, ok := m.Paths["unified"]
	return d, ok
}

// readString reads a cgroup file, trimmed.
func readString(dir, file string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", filepath.Join(dir, file), err)
	}
	return strings.TrimSpace(string(b)), nil
}

// readUint reads a cgroup file holding one number ("max" reads as
// MaxUint64).
func readUint(dir, file string) (uint64, error) {
	s, err := readString(dir, file)
	if err != nil {
		return 0, err
	}
	return parseUint(s)
}

// parseUint parses a cgroup number; "max" is unlimited and a negative
// value (v1's -1) is read as unlimited too.
func parseUint(s string) (uint64, error) {
	if s == "max" {
		return ^uint64(0), nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		if i, ierr := strconv.ParseInt(s, 10, 64); ierr == nil && i < 0 {
			return ^uint64(0), nil
		}
		return 0, fmt.Errorf("parse %q: %w", s, err)
	}
	return v, nil
}

// exists reports whether a cgroup file exists.
func exists(dir, file string) bool {
	_, err := os.Stat(filepath.Join(dir, file))
	return err == nil
}

// checkDevice makes sure a block device major:minor exists on the host.
func checkDevice(major, minor int64) error {
	if _, err := os.Stat(fmt.Sprintf("/sys/dev/block/%d:%d", major, minor)); err != nil {
		return fmt.Errorf("block device %d:%d does not exist", major, minor)
	}
	return nil
}

// cpusetError turns the kernel's EINVAL for a cpuset into a clear message.
func cpusetError(err error) error {
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ERANGE) {
		return fmt.Errorf("invalid cpuset: %w", err)
	}
	return err
}

// ConvertCPUSharesToWeight turns v1 cpu.shares (2..262144) into v2
// cpu.weight (1..10000) as runc (since 1.3.2) and crun (since 1.23) do: a
// quadratic in log2(shares) that maps the minimum, the default (1024 ->
// 100, so Docker's default shares give v2's default weight) and the maximum
// onto each other, where the older linear mapping gave 1024 -> 39.
// 0 means unset.
func ConvertCPUSharesToWeight(shares uint64) uint64 {
	switch {
	case shares == 0:
		return 0
	case shares <= 2:
		return 1
	case shares >= 262144:
		return 10000
	}
	l := math.Log2(float64(shares))
	exponent := (l*l+125*l)/612.0 - 7.0/34.0
	return uint64(math.Ceil(math.Pow(10, exponent)))
}

// ConvertBlkioWeightToIOWeight turns a v1 blkio weight (10..1000) into a v2
// io.weight (1..10000) as runc does; 0 means unset.
func ConvertBlkioWeightToIOWeight(w uint16) uint64 {
	if w == 0 {
		return 0
	}
	if w < 10 {
		w = 10
	}
	return 1 + (uint64(w)-10)*9999/990
}

// ConvertMemorySwapToV2 turns the OCI swap value (memory+swap) into v2's
// memory.swap.max (swap alone), as runc does: -1 is "max"; a swap of 0
// (unset) gives 0, which the caller does not write.
func ConvertMemorySwapToV2(swap, limit int64) (int64, error) {
	switch {
	case swap == -1:
		return -1, nil
	case swap == 0:
		return 0, nil
	case limit == 0:
		return 0, errors.New("a swap limit needs a memory limit")
	case limit == -1:
		return 0, errors.New("a swap limit with an unlimited memory limit is invalid")
	case swap < limit:
		return 0, fmt.Errorf("memory+swap limit (%d) is smaller than the memory limit (%d)", swap, limit)
	}
	return swap - limit, nil
}

// CPUMax formats v2's cpu.max from a quota and a period: a quota of 0 or
// less is "max"; a period of 0 keeps the kernel default of 100000.
func CPUMax(quota int64, period uint64) string {
	q := "max"
	if quota > 0 {
		q = strconv.FormatInt(quota, 10)
	}
	if period == 0 {
		period = 100000
	}
	return q + " " + strconv.FormatUint(period, 10)
}

// formatLimit writes a limit: -1 (or less) becomes "max" on v2.
func formatLimit(v int64) string {
	if v < 0 {
		return "max"
	}
	return strconv.FormatInt(v, 10)
}

// IOMaxLine formats one io.max entry of v2 ("8:0 rbps=1048576").
func IOMaxLine(major, minor int64, key string, rate uint64) string {
	v := "max"
	if rate > 0 {
		v = strconv.FormatUint(rate, 10)
	}
	return fmt.Sprintf("%d:%d %s=%s", major, minor, key, v)
}

// throttleLine formats one v1 blkio.throttle.* entry ("8:0 1048576").
func throttleLine(major, minor int64, rate uint64) string {
	return fmt.Sprintf("%d:%d %d", major, minor, rate)
}

// isCgroup2 reports whether dir is on a cgroup2 filesystem.
func isCgroup2(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == unifiedMagic
}

// enableV2 makes ctrl available in the v2 cgroup dir by enabling it in
// cgroup.subtree_control of every ancestor from the hierarchy's root down.
func enableV2(dir, ctrl string) error {
	var chain []string
	for p := filepath.Dir(dir); isCgroup2(p); p = filepath.Dir(p) {
		chain = append([]string{p}, chain...)
		if p == "/" {
			break
		}
	}
	if len(chain) == 0 {
		return fmt.Errorf("%s is not in a cgroup2 hierarchy", dir)
	}
	avail, err := readString(chain[0], "cgroup.controllers")
	if err != nil {
		return err
	}
	if !contains(strings.Fields(avail), ctrl) {
		return errNoController(ctrl)
	}
	for _, p := range chain {
		cur, err := readString(p, "cgroup.subtree_control")
		if err != nil {
			return err
		}
		if contains(strings.Fields(cur), ctrl) {
			continue
		}
		if err := writeFile(p, "cgroup.subtree_control", "+"+ctrl); err != nil {
			return fmt.Errorf("enable the %s controller: %w", ctrl, err)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
