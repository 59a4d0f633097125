package container

import (
	"errors"

	"golang.org/x/sys/unix"
)

// resctrlMagic is RDTGROUP_SUPER_MAGIC from linux/magic.h.
const resctrlMagic = 0x7655821

// CheckIntelRdt tells whether linux.intelRdt (or update's cache and
// memory bandwidth schemata) can be applied. berth-runtime does not manage
// resctrl groups yet: it refuses the setting with the reason rather than
// run the container without the isolation asked for.
func CheckIntelRdt() error {
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/resctrl", &st); err != nil || st.Type != resctrlMagic {
		return errors.New("linux.intelRdt: the host has no resctrl filesystem at /sys/fs/resctrl " +
			"(no Intel RDT or AMD QoS, or it is not mounted)")
	}
	return errors.New("linux.intelRdt: resctrl groups are not supported by berth-runtime yet")
}
