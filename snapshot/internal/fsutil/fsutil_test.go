package fsutil

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseMountPoint(t *testing.T) {
	cases := map[string]string{
		`36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw`: "/mnt/parent",
		`36 35 98:0 / /with\040space rw - tmpfs tmpfs rw`:                      "/with space",
		`36 35 98:0 / /back\134slash rw - tmpfs tmpfs rw`:                      `/back\slash`,
		`36 35 98:0 / /bad\04 rw - tmpfs tmpfs rw`:                             `/bad\04`,
	}
	for line, want := range cases {
		got, ok := ParseMountPoint(line)
		if !ok || got != want {
			t.Errorf("ParseMountPoint(%q) = %q, %v; want %q", line, got, ok, want)
		}
	}
	if _, ok := ParseMountPoint("1 2 3"); ok {
		t.Error("short line accepted")
	}
}

func FuzzParseMountPoint(f *testing.F) {
	f.Add(`36 35 98:0 / /with\040space rw - tmpfs tmpfs rw`)
	f.Add(`\1\12\123\1234`)
	f.Fuzz(func(t *testing.T, line string) {
		mp, ok := ParseMountPoint(line)
		if !ok {
			return
		}
		if len(mp) > len(line) {
			t.Fatalf("mount point %q longer than line %q", mp, line)
		}
	})
}

func TestDiskUsage(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 256<<10)
	for i := range data {
		data[i] = byte(i)
	}
	if err := os.WriteFile(filepath.Join(dir, "a"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"b", "c"} {
		if err := os.Link(filepath.Join(dir, "a"), filepath.Join(dir, l)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/nonexistent", filepath.Join(dir, "dangling")); err != nil {
		t.Fatal(err)
	}
	size, inodes, err := DiskUsage(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if inodes != 3 { // dir, a (thrice linked), dangling
		t.Errorf("inodes = %d, want 3", inodes)
	}
	if size < int64(len(data)) || size > 2*int64(len(data)) {
		t.Errorf("size = %d for one %d-byte file linked thrice", size, len(data))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := DiskUsage(ctx, dir); err == nil {
		t.Error("cancelled context ignored")
	}
}

func TestRemoveAllRefusesMounts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount")
	}
	dir := t.TempDir()
	sub := filepath.Join(dir, "victim", "mnt")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", sub, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(sub, unix.MNT_DETACH) })
	keep := filepath.Join(sub, "precious")
	if err := os.WriteFile(keep, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := RemoveAll(filepath.Join(dir, "victim"))
	if err == nil || !strings.Contains(err.Error(), "mounted") {
		t.Fatalf("RemoveAll over a mount: %v", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("file in the mounted filesystem deleted: %v", err)
	}
	mps, err := MountPointsUnder(dir)
	if err != nil || len(mps) != 1 || mps[0] != sub {
		t.Errorf("MountPointsUnder = %q, %v", mps, err)
	}
	if err := unix.Unmount(sub, 0); err != nil {
		t.Fatal(err)
	}
	if err := RemoveAll(filepath.Join(dir, "victim")); err != nil {
		t.Fatal(err)
	}
}
