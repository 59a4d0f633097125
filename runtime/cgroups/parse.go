package cgroups

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ParseKeyValues parses a flat keyed file of the kernel ("key value" per
// line: memory.stat, cpu.stat, memory.events, cpuacct.stat). Lines that
// are not a key and a number are skipped.
func ParseKeyValues(b []byte) map[string]uint64 {
	out := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			continue
		}
		out[f[0]] = v
	}
	return out
}

func readKeyValues(dir, file string) (map[string]uint64, error) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, file), err)
	}
	return ParseKeyValues(b), nil
}

// ParseIOStat parses v2's io.stat ("8:0 rbytes=1 wbytes=2 rios=3 wios=4
// dbytes=0 dios=0") into runc's service bytes and serviced entries.
func ParseIOStat(b []byte) (bytesE, ios []BlkioEntry) {
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		major, minor, ok := parseMajMin(f[0])
		if !ok {
			continue
		}
		for _, kv := range f[1:] {
			k, vs, ok := strings.Cut(kv, "=")
			if !ok {
				continue
			}
			v, err := strconv.ParseUint(vs, 10, 64)
			if err != nil {
				continue
			}
			e := BlkioEntry{Major: major, Minor: minor, Value: v}
			switch k {
			case "rbytes":
				e.Op = "Read"
				bytesE = append(bytesE, e)
			case "wbytes":
				e.Op = "Write"
				bytesE = append(bytesE, e)
			case "rios":
				e.Op = "Read"
				ios = append(ios, e)
			case "wios":
				e.Op = "Write"
				ios = append(ios, e)
			}
		}
	}
	return bytesE, ios
}

// ParseBlkioFile parses a v1 blkio statistics file ("8:0 Read 4096" lines,
// and a final "Total 4096", which is skipped).
func ParseBlkioFile(b []byte) []BlkioEntry {
	var out []BlkioEntry
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		major, minor, ok := parseMajMin(f[0])
		if !ok {
			continue
		}
		v, err := strconv.ParseUint(f[2], 10, 64)
		if err != nil {
			continue
		}
		out = append(out, BlkioEntry{Major: major, Minor: minor, Op: f[1], Value: v})
	}
	return out
}

func parseMajMin(s string) (uint64, uint64, bool) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, false
	}
	major, err1 := strconv.ParseUint(a, 10, 64)
	minor, err2 := strconv.ParseUint(b, 10, 64)
	return major, minor, err1 == nil && err2 == nil
}

// ParseUintList parses a space-separated list of numbers
// (cpuacct.usage_percpu).
func ParseUintList(b []byte) ([]uint64, error) {
	var out []uint64
	for _, f := range strings.Fields(string(b)) {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parse %q: %w", f, err)
		}
		out = append(out, v)
	}
	return out, nil
}
