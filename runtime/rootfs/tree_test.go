package rootfs

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestAttachTreeRefusesSharedRoot: a rootfs tree is not attached under a
// / that propagates to the host (it would give the host a second mount
// of its rootfs), and its descriptor is closed either way.
func TestAttachTreeRefusesSharedRoot(t *testing.T) {
	if err := attachTree(0, "/nonexistent", unix.MS_SHARED|unix.MS_REC); err != nil {
		t.Errorf("no tree: %v", err)
	}
	f, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Dup(int(f.Fd()))
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := attachTree(fd, t.TempDir(), unix.MS_SHARED|unix.MS_REC); err == nil {
		t.Error("attached under a shared /")
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
		t.Error("the tree's descriptor is still open")
	}
}
