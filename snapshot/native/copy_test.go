package native

import (
	"bytes"
	"context"
	"crypto/rand"
	"net"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCopyTreeHostile(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to keep owners and make devices")
	}
	src, dst := t.TempDir(), t.TempDir()
	p := func(s ...string) string { return filepath.Join(append([]string{src}, s...)...) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// Links that point out of the tree, at themselves, or through "..".
	must(os.Symlink("/", p("escape")))
	must(os.Symlink("loop", p("loop")))
	must(os.Symlink("../../../../../../etc/passwd", p("dotdot")))
	must(os.MkdirAll(p("a", "b"), 0o755))
	must(os.Symlink("/etc", p("a", "b", "etc")))
	// Data, hard links across directories, an unreadable file and dir.
	data := make([]byte, 3<<20+17)
	_, _ = rand.Read(data)
	must(os.WriteFile(p("a", "data"), data, 0o644))
	must(os.Link(p("a", "data"), p("a", "b", "data-link")))
	must(os.WriteFile(p("secret"), []byte("s"), 0o000))
	must(os.Mkdir(p("closed"), 0o000))
	must(os.WriteFile(p("empty"), nil, 0o640))
	l, err := net.Listen("unix", p("sock"))
	must(err)
	defer l.Close()
	dirTime := unix.NsecToTimespec(1_234_567_890_000_000_000)
	must(unix.UtimesNano(p("a"), []unix.Timespec{dirTime, dirTime}))

	if err := CopyTree(context.Background(), dst, src); err != nil {
		t.Fatal(err)
	}
	q := func(s ...string) string { return filepath.Join(append([]string{dst}, s...)...) }
	for name, want := range map[string]string{"escape": "/", "loop": "loop", "dotdot": "../../../../../../etc/passwd", "a/b/etc": "/etc"} {
		if got, err := os.Readlink(q(name)); err != nil || got != want {
			t.Errorf("link %s = %q, %v; want %q", name, got, err, want)
		}
	}
	got, err := os.ReadFile(q("a", "data"))
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("data differs (%d bytes, %v)", len(got), err)
	}
	var s1, s2 unix.Stat_t
	must(unix.Stat(q("a", "data"), &s1))
	must(unix.Stat(q("a", "b", "data-link"), &s2))
	if s1.Ino != s2.Ino || s1.Nlink != 2 {
		t.Errorf("hard link: inodes %d %d nlink %d", s1.Ino, s2.Ino, s1.Nlink)
	}
	must(unix.Stat(q("secret"), &s1))
	if s1.Mode&0o777 != 0 {
		t.Errorf("secret mode %#o", s1.Mode&0o777)
	}
	must(unix.Stat(q("closed"), &s1))
	if s1.Mode&0o777 != 0 {
		t.Errorf("closed dir mode %#o", s1.Mode&0o777)
	}
	must(unix.Stat(q("a"), &s1))
	if s1.Mtim != dirTime {
		t.Errorf("dir mtime %v, want %v (set after its children)", s1.Mtim, dirTime)
	}
	if _, err := os.Lstat(q("sock")); !os.IsNotExist(err) {
		t.Errorf("socket copied: %v", err)
	}
	// Nothing was written outside dst.
	if _, err := os.Lstat(filepath.Join(filepath.Dir(dst), "etc")); !os.IsNotExist(err) {
		t.Errorf("something escaped: %v", err)
	}
}

func TestCopyTreeCancel(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	for _, n := range []string{"a", "b", "c"} {
		if err := os.WriteFile(filepath.Join(src, n), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := CopyTree(ctx, dst, src); err == nil {
		t.Error("cancelled copy succeeded")
	}
}

// TestCopyTreeSourceIsLink: the source root itself being a symlink is
// refused rather than followed.
func TestCopyTreeSourceIsLink(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "link")
	if err := os.Symlink(t.TempDir(), link); err != nil {
		t.Fatal(err)
	}
	if err := CopyTree(context.Background(), t.TempDir(), link); err == nil {
		t.Error("copy through a symlinked source root succeeded")
	}
}
