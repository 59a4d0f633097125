package rootfs

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestMountAttr checks the translation of mount(2) flags to
// mount_setattr(2) attributes: flags to set, flags an option cleared, and
// the atime mode, which replaces the mount's.
func TestMountAttr(t *testing.T) {
	for _, c := range []struct {
		name       string
		set, clear uintptr
		wantSet    uint64
		wantClr    uint64
	}{
		{"none", 0, 0, 0, 0},
		{"ro nosuid nodev noexec", unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, 0,
			unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC, 0},
		{"rw suid", 0, unix.MS_RDONLY | unix.MS_NOSUID, 0, unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID},
		{"relatime", unix.MS_RELATIME, 0, unix.MOUNT_ATTR_RELATIME, unix.MOUNT_ATTR__ATIME},
		{"noatime nodiratime", unix.MS_NOATIME | unix.MS_NODIRATIME, 0,
			unix.MOUNT_ATTR_NOATIME | unix.MOUNT_ATTR_NODIRATIME, unix.MOUNT_ATTR__ATIME},
		{"strictatime ro", unix.MS_STRICTATIME | unix.MS_RDONLY, 0,
			unix.MOUNT_ATTR_STRICTATIME | unix.MOUNT_ATTR_RDONLY, unix.MOUNT_ATTR__ATIME},
		{"set wins over clear", unix.MS_RDONLY, unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY, 0},
	} {
		a := mountAttr(c.set, c.clear)
		if a.Attr_set != c.wantSet || a.Attr_clr != c.wantClr {
			t.Errorf("%s: set %#x clear %#x, want set %#x clear %#x", c.name, a.Attr_set, a.Attr_clr, c.wantSet, c.wantClr)
		}
	}
}
