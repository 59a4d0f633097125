package caps

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Set is a capability bit set (one bit per capability number).
type Set uint64

// SetOf parses names into a Set. Names the kernel does not know (above
// lastCap) are skipped, as runc does, so a newer config runs on an older
// kernel; names nobody knows are an error.
func SetOf(list []string, lastCap int) (Set, error) {
	var s Set
	for _, n := range list {
		c, err := Parse(n)
		if err != nil {
			return 0, err
		}
		if c > lastCap {
			continue
		}
		s |= 1 << uint(c)
	}
	return s, nil
}

// Has reports whether capability c is in s.
func (s Set) Has(c int) bool { return s&(1<<uint(c)) != 0 }

// Sets are the five capability sets of a process, and the highest
// capability number of the kernel they are for.
type Sets struct {
	Bounding, Effective, Inheritable, Permitted, Ambient Set
	LastCap                                              int
}

// FromSpec parses the capability sets of an OCI process for a kernel whose
// highest capability is last. The caller reads last on the host (LastCap):
// inside a container /proc/sys may be covered by anything.
func FromSpec(pc *specs.LinuxCapabilities, last int) (Sets, error) {
	s := Sets{LastCap: last}
	if pc == nil {
		return s, nil
	}
	for _, f := range []struct {
		field string
		list  []string
		dst   *Set
	}{
		{"bounding", pc.Bounding, &s.Bounding},
		{"effective", pc.Effective, &s.Effective},
		{"inheritable", pc.Inheritable, &s.Inheritable},
		{"permitted", pc.Permitted, &s.Permitted},
		{"ambient", pc.Ambient, &s.Ambient},
	} {
		set, err := SetOf(f.list, last)
		if err != nil {
			return s, fmt.Errorf("process.capabilities.%s: %w", f.field, err)
		}
		*f.dst = set
	}
	return s, nil
}

// DropBounding removes every capability outside s.Bounding from the bounding
// set of the calling thread. It needs CAP_SETPCAP, so it runs before the
// switch to the container user.
func DropBounding(s Sets) error {
	for c := 0; c <= s.LastCap; c++ {
		if s.Bounding.Has(c) {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
			return fmt.Errorf("drop %s from the bounding set: %w", names[c], err)
		}
	}
	return nil
}

// Apply sets the effective, permitted and inheritable sets of the calling
// thread, then raises the ambient set. The caller holds the thread locked,
// since capabilities belong to a thread and execve keeps the caller's.
func Apply(s Sets) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	for i := 0; i < 2; i++ {
		data[i].Effective = uint32(s.Effective >> (32 * i))
		data[i].Permitted = uint32(s.Permitted >> (32 * i))
		data[i].Inheritable = uint32(s.Inheritable >> (32 * i))
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	for c := 0; c < 64; c++ {
		// The kernel raises an ambient capability only if it is both
		// permitted and inheritable; runc skips the others silently, and
		// so does its default spec rely on.
		if !s.Ambient.Has(c) || !s.Permitted.Has(c) || !s.Inheritable.Has(c) {
			continue
		}
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(c), 0, 0); err != nil {
			return fmt.Errorf("raise ambient %s: %w", names[c], err)
		}
	}
	return nil
}
