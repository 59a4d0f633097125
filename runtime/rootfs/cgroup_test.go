package rootfs

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestBindHierarchy: the mount point is made in the directory given and the
// source bound there; a name that would leave it is refused, and a
// symlink planted at the name is not followed.
func TestBindHierarchy(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount")
	}
	src, dir := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "cgroup.procs"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := bindHierarchy(d, "cpu,cpuacct", src); err != nil {
		t.Fatal(err)
	}
	mnt := filepath.Join(dir, "cpu,cpuacct")
	t.Cleanup(func() { _ = unix.Unmount(mnt, unix.MNT_DETACH) })
	if _, err := os.Stat(filepath.Join(mnt, "cgroup.procs")); err != nil {
		t.Errorf("the source is not bound at the hierarchy's name: %v", err)
	}
	for _, name := range []string{"", ".", "..", "a/b", "../escape"} {
		if err := bindHierarchy(d, name, src); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	elsewhere := t.TempDir()
	if err := os.Symlink(elsewhere, filepath.Join(dir, "memory")); err != nil {
		t.Fatal(err)
	}
	if err := bindHierarchy(d, "memory", src); err == nil {
		_ = unix.Unmount(filepath.Join(dir, "memory"), unix.MNT_DETACH)
		t.Error("bound through a symlink")
	}
	if _, err := os.Stat(filepath.Join(elsewhere, "cgroup.procs")); err == nil {
		_ = unix.Unmount(elsewhere, unix.MNT_DETACH)
		t.Error("the symlink's target got the bind")
	}
}
