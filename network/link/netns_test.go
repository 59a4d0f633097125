package link

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// newNetns makes a netns file under a temp dir and removes it at the end.
func newNetns(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "netns", name)
	if err := CreateNetns(p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := RemoveNetns(p); err != nil {
			t.Error(err)
		}
	})
	return p
}

func nsInode(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func TestNetnsLifecycle(t *testing.T) {
	requirePrivate(t)
	p := newNetns(t, "c1")
	if ok, err := IsNetns(p); err != nil || !ok {
		t.Fatalf("IsNetns after create = %v, %v", ok, err)
	}
	if ino := nsInode(t, p); ino == nsInode(t, "/proc/thread-self/ns/net") {
		t.Fatal("netns file is the caller's namespace")
	}
	if err := CreateNetns(p); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second create: %v, want ErrExist", err)
	}
	// Inside: only a loopback, and it is down.
	var names []string
	err := Do(p, func() error {
		links, err := netlink.LinkList()
		for _, l := range links {
			names = append(names, l.Attrs().Name)
		}
		return err
	})
	if err != nil || len(names) != 1 || names[0] != "lo" {
		t.Fatalf("links in new netns: %v, %v", names, err)
	}
	if err := RemoveNetns(p); err != nil {
		t.Fatal(err)
	}
	if ok, err := IsNetns(p); err != nil || ok {
		t.Fatalf("IsNetns after remove = %v, %v", ok, err)
	}
	if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("file left after remove: %v", err)
	}
	if err := RemoveNetns(p); err != nil {
		t.Fatalf("second remove: %v", err)
	}
}

// A reboot drops the mount but leaves the file: IsNetns says no, create
// reuses the file, remove deletes it.
func TestNetnsMountGone(t *testing.T) {
	requirePrivate(t)
	p := newNetns(t, "c2")
	if err := unix.Unmount(p, unix.MNT_DETACH); err != nil {
		t.Fatal(err)
	}
	if ok, err := IsNetns(p); err != nil || ok {
		t.Fatalf("IsNetns on stale file = %v, %v", ok, err)
	}
	if err := Do(p, func() error { return nil }); !errors.Is(err, ErrNotNetns) {
		t.Fatalf("Do on stale file: %v", err)
	}
	if err := CreateNetns(p); err != nil {
		t.Fatalf("create over stale file: %v", err)
	}
	if ok, _ := IsNetns(p); !ok {
		t.Fatal("not a netns after re-create")
	}
	if err := unix.Unmount(p, unix.MNT_DETACH); err != nil {
		t.Fatal(err)
	}
	if err := RemoveNetns(p); err != nil {
		t.Fatalf("remove with mount gone: %v", err)
	}
	if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("file left: %v", err)
	}
}

func TestNetnsBadPaths(t *testing.T) {
	requirePrivate(t)
	dir := t.TempDir()
	if err := CreateNetns("relative/ns"); err == nil {
		t.Fatal("relative path accepted")
	}
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := CreateNetns(link); err == nil {
		RemoveNetns(link)
		t.Fatal("created a netns through a symlink")
	}
	if ok, err := IsNetns(link); err != nil || ok {
		t.Fatalf("IsNetns(symlink) = %v, %v", ok, err)
	}
	if err := CreateNetns(dir); err == nil {
		t.Fatal("created a netns on a directory")
	}
	if ok, err := IsNetns(target); err != nil || ok {
		t.Fatalf("IsNetns(plain file) = %v, %v", ok, err)
	}
	// Another kind of namespace is not a network namespace.
	if ok, err := IsNetns("/proc/self/ns/uts"); err != nil || ok {
		t.Fatalf("IsNetns(uts) = %v, %v", ok, err)
	}
	if err := Do(target, func() error { return nil }); !errors.Is(err, ErrNotNetns) {
		t.Fatalf("Do(plain file): %v", err)
	}
	if err := Do(filepath.Join(dir, "missing"), func() error { return nil }); err == nil {
		t.Fatal("Do(missing) succeeded")
	}
	if err := RemoveNetns(link); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(target); err != nil || string(b) != "keep" {
		t.Fatalf("symlink target changed: %q, %v", b, err)
	}
}

func TestSetupLoopback(t *testing.T) {
	requirePrivate(t)
	p := newNetns(t, "none")
	if err := SetupLoopback(p); err != nil {
		t.Fatal(err)
	}
	err := Do(p, func() error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		if lo.Attrs().Flags&net.FlagUp == 0 {
			t.Error("lo is down")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
