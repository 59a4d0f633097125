package spec

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Execution domains and flags of personality(2), from linux/personality.h.
const (
	perLinux   = 0x0000
	perLinux32 = 0x0008
)

// personalityFlag returns the value of a personality flag by name.
func personalityFlag(name string) (uint, bool) {
	switch name {
	case "UNAME26":
		return 0x0020000, true
	case "ADDR_NO_RANDOMIZE":
		return 0x0040000, true
	case "FDPIC_FUNCPTRS":
		return 0x0080000, true
	case "MMAP_PAGE_ZERO":
		return 0x0100000, true
	case "ADDR_COMPAT_LAYOUT":
		return 0x0200000, true
	case "READ_IMPLIES_EXEC":
		return 0x0400000, true
	case "ADDR_LIMIT_32BIT":
		return 0x0800000, true
	case "SHORT_INODE":
		return 0x1000000, true
	case "WHOLE_SECONDS":
		return 0x2000000, true
	case "STICKY_TIMEOUTS":
		return 0x4000000, true
	case "ADDR_LIMIT_3GB":
		return 0x8000000, true
	}
	return 0, false
}

// Personality returns the personality(2) persona of linux.personality:
// the domain LINUX or LINUX32 (the two the runtime spec names) with its
// flags.
func Personality(p *specs.LinuxPersonality) (uint, error) {
	var v uint
	switch p.Domain {
	case specs.PerLinux:
		v = perLinux
	case specs.PerLinux32:
		v = perLinux32
	default:
		return 0, fmt.Errorf("linux.personality.domain: unknown domain %q (want LINUX or LINUX32)", p.Domain)
	}
	for i, f := range p.Flags {
		bit, ok := personalityFlag(string(f))
		if !ok {
			return 0, fmt.Errorf("linux.personality.flags[%d]: unknown flag %q", i, f)
		}
		v |= bit
	}
	return v, nil
}
