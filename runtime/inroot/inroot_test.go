package inroot

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// hostileRoot makes a root directory whose entries point out of it, and
// an "outside" directory (standing in for the host) holding one file,
// secret. The root's links:
//
//	abs      -> <outside>                  absolute, host-looking
//	rel      -> ../../../../../<outside>   climbing with ..
//	up       -> ..
//	slash    -> /
//	dangling -> <outside>/created          names a file not there yet
//	loop     -> loop
func hostileRoot(t *testing.T) (root *os.File, rootDir, outside string) {
	t.Helper()
	rootDir = t.TempDir()
	outside = t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("host"), 0o600); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"abs":      outside,
		"rel":      strings.Repeat("../", 16) + strings.TrimPrefix(outside, "/"),
		"up":       "..",
		"slash":    "/",
		"dangling": filepath.Join(outside, "created"),
		"loop":     "loop",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(rootDir, name)); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenFile(rootDir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return root, rootDir, outside
}

// listTree returns every path under dir, relative to it.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if rel, _ := filepath.Rel(dir, p); rel != "." {
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// checkOutside fails the test if anything but "secret" (with its content)
// is in the outside directory.
func checkOutside(t *testing.T, outside string) {
	t.Helper()
	if got := listTree(t, outside); len(got) != 1 || got[0] != "secret" {
		t.Fatalf("outside directory changed: %v", got)
	}
	if b, err := os.ReadFile(filepath.Join(outside, "secret")); err != nil || string(b) != "host" {
		t.Fatalf("outside secret changed: %q, %v", b, err)
	}
}

// sameFile reports whether f is the file at path on the host.
func sameFile(t *testing.T, f *os.File, path string) bool {
	t.Helper()
	var a, b unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &a); err != nil {
		t.Fatal(err)
	}
	if err := unix.Lstat(path, &b); err != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

// TestHostileOpen: every way out of the root through a symlink or ".."
// (the CVE-2021-30465 and CVE-2024-45310 family) ends inside it.
func TestHostileOpen(t *testing.T) {
	root, rootDir, outside := hostileRoot(t)
	for _, p := range []string{"abs/secret", "rel/secret", "slash" + outside + "/secret",
		"../../../../" + outside + "/secret", "up/up/up" + outside + "/secret"} {
		f, err := OpenPath(root, p)
		if err == nil {
			f.Close()
			t.Errorf("Open(%q) found a file; the root has none there", p)
		} else if !errors.Is(err, unix.ENOENT) {
			t.Errorf("Open(%q): %v, want ENOENT", p, err)
		}
	}
	for _, p := range []string{"up", "up/up/..", "slash", "/../..", "rel/" + strings.Repeat("../", 20)} {
		f, err := OpenPath(root, p)
		if err != nil {
			t.Errorf("Open(%q): %v", p, err)
			continue
		}
		if !sameFile(t, f, rootDir) {
			t.Errorf("Open(%q) is not the root", p)
		}
		f.Close()
	}
	if _, err := OpenPath(root, "loop/x"); !errors.Is(err, unix.ELOOP) {
		t.Errorf("Open(loop/x): %v, want ELOOP", err)
	}
	checkOutside(t, outside)
}

// TestHostileMagicLinks: /proc magic links (which point anywhere, such as
// a leaked host descriptor, CVE-2024-21626) are never followed, even with
// the host's own / as the root.
func TestHostileMagicLinks(t *testing.T) {
	slash, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer slash.Close()
	for _, p := range []string{"/proc/self/root/proc", "/proc/self/cwd", "/proc/self/fd/" + strconv.Itoa(int(slash.Fd())), "/proc/self/exe"} {
		f, err := OpenPath(slash, p)
		if err == nil {
			f.Close()
			t.Errorf("Open(%q) followed a magic link", p)
		} else if !errors.Is(err, unix.ELOOP) {
			t.Errorf("Open(%q): %v, want ELOOP", p, err)
		}
	}
}

// TestHostileMkdirAll: creating a mount point through host-looking or
// climbing symlinks never creates anything outside the root
// (CVE-2021-30465, CVE-2024-45310, which made runc create directories on
// the host). While the links dangle inside the root, creation may fail
// (openat2 and filepath-securejoin, so runc, refuse those); once their
// in-root targets exist, it lands there.
func TestHostileMkdirAll(t *testing.T) {
	root, rootDir, outside := hostileRoot(t)
	cases := []struct{ path, want string }{
		{"abs/a/b", "a/b"},
		{"rel/c", "c"},
		{"slash" + outside + "/d", "d"},
		{"up/up" + outside + "/e", "e"},
		{"../../" + outside + "/f", "f"},
	}
	mkdir := func(path, want string, mustWork bool) {
		t.Helper()
		d, err := MkdirAll(root, path, 0o755)
		if err != nil {
			if mustWork {
				t.Errorf("MkdirAll(%q): %v", path, err)
			}
			return
		}
		defer d.Close()
		if !sameFile(t, d, filepath.Join(rootDir, outside, want)) {
			t.Errorf("MkdirAll(%q) did not land on <root>%s/%s", path, outside, want)
		}
	}
	for _, c := range cases {
		mkdir(c.path, c.want, false)
	}
	checkOutside(t, outside)
	if err := os.MkdirAll(filepath.Join(rootDir, outside), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		mkdir(c.path, c.want, true)
	}
	if _, err := MkdirAll(root, "loop/x", 0o755); err == nil {
		t.Error("MkdirAll through a symlink loop succeeded")
	}
	checkOutside(t, outside)
}

// TestHostileFile: a file mount point named by a host-looking path, or
// through a dangling symlink to the host, is created inside the root, and
// an existing host-looking file is found inside the root, never on the
// host.
func TestHostileFile(t *testing.T) {
	root, rootDir, outside := hostileRoot(t)
	paths := []string{"abs/newfile", "rel/newfile2", "slash" + outside + "/newfile3", "dangling", "abs/secret"}
	for _, p := range paths {
		if f, err := File(root, p, 0o644); err == nil {
			if sameFile(t, f, filepath.Join(outside, filepath.Base(p))) {
				t.Errorf("File(%q) is the host's file", p)
			}
			f.Close()
		}
	}
	checkOutside(t, outside)
	if err := os.MkdirAll(filepath.Join(rootDir, outside), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range paths[:3] {
		f, err := File(root, p, 0o644)
		if err != nil {
			t.Errorf("File(%q): %v", p, err)
			continue
		}
		want := filepath.Join(rootDir, outside, filepath.Base(p))
		if !sameFile(t, f, want) {
			t.Errorf("File(%q) did not land on %s", p, want)
		}
		f.Close()
	}
	checkOutside(t, outside)
}

// TestHostileMkdirAllRace swaps a directory of the root with a symlink to
// the outside while MkdirAll creates a path through it, as the attack on
// CVE-2021-30465 did from a second container sharing the volume. Nothing
// may ever be created outside.
func TestHostileMkdirAllRace(t *testing.T) {
	root, rootDir, outside := hostileRoot(t)
	// The link resolves (inside the root) too, so creation goes on
	// through both forms of the swapped path.
	if err := os.MkdirAll(filepath.Join(rootDir, outside), 0o755); err != nil {
		t.Fatal(err)
	}
	swap := filepath.Join(rootDir, "swap")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_ = os.RemoveAll(swap)
			if i%2 == 0 {
				_ = os.Mkdir(swap, 0o755)
			} else {
				_ = os.Symlink(outside, swap)
			}
		}
	}()
	for i := 0; i < 2000; i++ {
		if d, err := MkdirAll(root, "swap/sub/dir", 0o755); err == nil {
			d.Close()
		}
		if f, err := File(root, "swap/file", 0o644); err == nil {
			f.Close()
		}
	}
	close(stop)
	wg.Wait()
	checkOutside(t, outside)
}
