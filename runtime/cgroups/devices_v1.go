package cgroups

import (
	"fmt"
	"strconv"
)

// deviceLineV1 is one write to devices.allow or devices.deny.
type deviceLineV1 struct {
	file string // "devices.allow" or "devices.deny"
	line string // "c 1:3 rwm", or "a" for every device
}

// deviceLinesV1 translates validated rules into the writes that give a fresh
// v1 devices cgroup the same behaviour as the v2 program: "a" to
// devices.deny first unless a type "a" rule resets the list, then the rules
// in order, a type "a" rule as "a" (the kernel ignores its other fields).
func deviceLinesV1(rules []deviceRule) []deviceLineV1 {
	start := -1
	for i, r := range rules {
		if r.typ == 'a' {
			start = i
		}
	}
	var out []deviceLineV1
	if start < 0 {
		out = append(out, deviceLineV1{file: "devices.deny", line: "a"})
		start = 0
	}
	for _, r := range rules[start:] {
		file := "devices.deny"
		if r.allow {
			file = "devices.allow"
		}
		out = append(out, deviceLineV1{file: file, line: r.v1String()})
	}
	return out
}

// v1String renders a rule as devices.allow and devices.deny read it.
func (r deviceRule) v1String() string {
	if r.typ == 'a' {
		return "a"
	}
	return string(r.typ) + " " + devNum(r.major) + ":" + devNum(r.minor) + " " + accessString(r.access)
}

func devNum(n int64) string {
	if n < 0 {
		return "*"
	}
	return strconv.FormatInt(n, 10)
}

// setDevicesV1 writes the rules to the v1 devices cgroup at dir.
func setDevicesV1(dir string, rules []deviceRule) error {
	for _, l := range deviceLinesV1(rules) {
		if err := writeFile(dir, l.file, l.line); err != nil {
			return fmt.Errorf("devices cgroup: %w", err)
		}
	}
	return nil
}
