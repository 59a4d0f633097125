package cgroups

import (
	"errors"
	"fmt"
	"math"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Device access bits, as the kernel's BPF_DEVCG_ACC_* constants.
const (
	accMknod uint8 = 1 << iota
	accRead
	accWrite

	accAll = accMknod | accRead | accWrite
)

// deviceRule is one validated entry of linux.resources.devices.
type deviceRule struct {
	allow bool
	// typ is 'a' (every device: the rule resets the default), 'c' or 'b'.
	typ byte
	// major and minor are -1 for the wildcard "*".
	major, minor int64
	access       uint8
}

// defaultDeviceRules returns the rules allowed after the configured rules, as runc's
// specconv.AllowedDevices: the OCI spec makes the runtime supply /dev/null,
// zero, full, random, urandom, tty, console (a pts) and ptmx, and a config
// with the usual leading deny-all would otherwise leave them unusable.
// mknod of any node stays allowed, as in runc; opening it still needs a rule.
func defaultDeviceRules() []specs.LinuxDeviceCgroup {
	return []specs.LinuxDeviceCgroup{
		{Allow: true, Type: "c", Access: "m"},
		{Allow: true, Type: "b", Access: "m"},
		{Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "rwm"}, // /dev/null
		{Allow: true, Type: "c", Major: i64(1), Minor: i64(8), Access: "rwm"}, // /dev/random
		{Allow: true, Type: "c", Major: i64(1), Minor: i64(7), Access: "rwm"}, // /dev/full
		{Allow: true, Type: "c", Major: i64(5), Minor: i64(0), Access: "rwm"}, // /dev/tty
		{Allow: true, Type: "c", Major: i64(1), Minor: i64(5), Access: "rwm"}, // /dev/zero
		{Allow: true, Type: "c", Major: i64(1), Minor: i64(9), Access: "rwm"}, // /dev/urandom
		{Allow: true, Type: "c", Major: i64(136), Minor: nil, Access: "rwm"},  // /dev/pts/*
		{Allow: true, Type: "c", Major: i64(5), Minor: i64(2), Access: "rwm"}, // /dev/ptmx
	}
}

func i64(v int64) *int64 { return &v }

// setDevices applies linux.resources.devices: devices.allow/deny on v1,
// an eBPF program attached to the cgroup on v2 (or on the unified hierarchy
// of a hybrid host without a v1 devices controller).
//
// Both follow runc: access is denied unless a rule allows it, the last
// matching rule wins, a rule of type "a" resets everything before it to
// allow-all or deny-all, and the default devices every container needs are
// allowed after the configured rules.
//
// A nil list leaves the device rules of the cgroup as they are (update
// passes nil, as runc update changes no devices); an empty non-nil list
// denies every device but the defaults, as runc does for a config without
// rules. Invalid rules are an error before anything is written.
func (m *Manager) setDevices(rules []specs.LinuxDeviceCgroup) error {
	if rules == nil {
		return nil
	}
	parsed, err := parseDeviceRules(rules)
	if err != nil {
		return err
	}
	if m.Mode != V2 {
		if dir, ok := m.devicesV1Dir(); ok {
			return setDevicesV1(dir, parsed)
		}
	}
	dir, ok := m.Paths[""]
	if !ok {
		dir, ok = m.Paths["unified"]
	}
	if !ok {
		return errors.New("no devices cgroup controller and no unified hierarchy on this host")
	}
	return setDevicesV2(dir, parsed)
}

// devicesV1Dir returns the directory of the v1 hierarchy holding "devices".
func (m *Manager) devicesV1Dir() (string, bool) {
	for name, dir := range m.Paths {
		for _, c := range strings.Split(name, ",") {
			if c == "devices" {
				return dir, true
			}
		}
	}
	return "", false
}

// parseDeviceRules validates the configured rules and appends the defaults.
// An error names the offending entry as linux.resources.devices[i].
func parseDeviceRules(rules []specs.LinuxDeviceCgroup) ([]deviceRule, error) {
	out := make([]deviceRule, 0, len(rules)+10)
	for i, r := range rules {
		d, err := parseDeviceRule(r)
		if err != nil {
			return nil, fmt.Errorf("linux.resources.devices[%d]: %w", i, err)
		}
		out = append(out, d)
	}
	for _, r := range defaultDeviceRules() {
		d, err := parseDeviceRule(r)
		if err != nil {
			return nil, fmt.Errorf("default device rule %+v: %w", r, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// parseDeviceRule validates one rule: type "", "a", "c" or "b"; major and
// minor absent (or -1, runc's wildcard) or within 0..2^32-1; access a
// non-empty set of r, w and m.
func parseDeviceRule(r specs.LinuxDeviceCgroup) (deviceRule, error) {
	d := deviceRule{allow: r.Allow, major: -1, minor: -1}
	switch r.Type {
	case "", "a":
		d.typ = 'a'
	case "c", "b":
		d.typ = r.Type[0]
	default:
		return d, fmt.Errorf("type %q: must be \"a\", \"c\" or \"b\"", r.Type)
	}
	var err error
	if d.major, err = deviceNumber("major", r.Major); err != nil {
		return d, err
	}
	if d.minor, err = deviceNumber("minor", r.Minor); err != nil {
		return d, err
	}
	if d.access, err = parseAccess(r.Access); err != nil {
		return d, err
	}
	return d, nil
}

func deviceNumber(field string, v *int64) (int64, error) {
	if v == nil || *v == -1 {
		return -1, nil
	}
	if *v < 0 || *v > math.MaxUint32 {
		return 0, fmt.Errorf("%s %d: must be -1 (any) or 0 to %d", field, *v, uint32(math.MaxUint32))
	}
	return *v, nil
}

func parseAccess(s string) (uint8, error) {
	if s == "" {
		return 0, errors.New("access is empty: must be a combination of \"r\", \"w\" and \"m\"")
	}
	var acc uint8
	for _, c := range []byte(s) {
		var bit uint8
		switch c {
		case 'r':
			bit = accRead
		case 'w':
			bit = accWrite
		case 'm':
			bit = accMknod
		default:
			return 0, fmt.Errorf("access %q: must be a combination of \"r\", \"w\" and \"m\"", s)
		}
		if acc&bit != 0 {
			return 0, fmt.Errorf("access %q: %q given twice", s, c)
		}
		acc |= bit
	}
	return acc, nil
}

// effectiveRules returns the default (allow or deny everything) and the
// rules that still matter: a type "a" rule overrides every rule before it.
func effectiveRules(rules []deviceRule) (defaultAllow bool, rest []deviceRule) {
	start := 0
	for i, r := range rules {
		if r.typ == 'a' {
			defaultAllow, start = r.allow, i+1
		}
	}
	return defaultAllow, rules[start:]
}

// accessString renders an access set in the order "rwm".
func accessString(acc uint8) string {
	var b strings.Builder
	if acc&accRead != 0 {
		b.WriteByte('r')
	}
	if acc&accWrite != 0 {
		b.WriteByte('w')
	}
	if acc&accMknod != 0 {
		b.WriteByte('m')
	}
	return b.String()
}
