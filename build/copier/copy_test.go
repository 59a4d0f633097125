package copier

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCopyFileRules(t *testing.T) {
	requireRoot(t)
	src, dst := t.TempDir(), t.TempDir()
	tree(t, src, map[string]string{"a.txt": "A", "b.txt": "B"})
	tree(t, dst, map[string]string{"existing/": ""})
	cases := []struct {
		sources []string
		dest    string
		workdir string
		want    string // file expected with content of the first source
	}{
		{[]string{"a.txt"}, "/new/name", "", "new/name"},
		{[]string{"a.txt"}, "/into/", "", "into/a.txt"},
		{[]string{"a.txt"}, "/existing", "", "existing/a.txt"},
		{[]string{"a.txt"}, "rel", "/work", "work/rel"},
		{[]string{"a.txt"}, ".", "/wd", "wd/a.txt"},
		{[]string{"a.txt"}, "/", "", "a.txt"},
	}
	for _, c := range cases {
		if err := doCopy(t, src, c.sources, dst, c.dest, Options{Workdir: c.workdir}); err != nil {
			t.Fatalf("copy %v to %s: %v", c.sources, c.dest, err)
		}
		if got := readFile(t, filepath.Join(dst, c.want)); got != "A" {
			t.Errorf("copy to %s: %s holds %q", c.dest, c.want, got)
		}
	}
	if err := doCopy(t, src, []string{"a.txt", "b.txt"}, dst, "/notadir", Options{}); err == nil || !strings.Contains(err.Error(), "must be a directory") {
		t.Fatalf("two sources to a file destination: err %v", err)
	}
	mustNotExist(t, filepath.Join(dst, "notadir"))
	if err := doCopy(t, src, []string{"a.txt", "b.txt"}, dst, "/existing", Options{}); err != nil {
		t.Fatalf("two sources to an existing directory: %v", err)
	}
	if got := readFile(t, filepath.Join(dst, "existing/b.txt")); got != "B" {
		t.Fatalf("existing/b.txt = %q", got)
	}
	if err := doCopy(t, src, nil, dst, "/x", Options{}); !errors.Is(err, ErrNoSources) {
		t.Fatalf("no sources: %v", err)
	}
	if err := doCopy(t, src, []string{"missing"}, dst, "/x", Options{}); err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing source: %v", err)
	}
}

func TestCopyDirectoryContents(t *testing.T) {
	requireRoot(t)
	src, dst := t.TempDir(), t.TempDir()
	tree(t, src, map[string]string{
		"d/f":        "file",
		"d/sub/g":    "g",
		"d/link":     "->sub/g",
		"d/abs":      "->/etc/passwd",
		"d/empty/":   "",
		"d/exec.sh":  "#!/bin/sh",
		"other/keep": "x",
	})
	old := time.Date(2019, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, p := range []string{"d/f", "d/sub/g", "d/sub", "d/empty"} {
		if err := os.Chtimes(filepath.Join(src, p), old, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Chmod(filepath.Join(src, "d/exec.sh"), 0o4755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(src, "d/f"), 1000, 1000); err != nil {
		t.Fatal(err)
	}
	tree(t, dst, map[string]string{"app/old": "stays"})
	if err := doCopy(t, src, []string{"d"}, dst, "/app", Options{}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dst, "app/f")); got != "file" {
		t.Fatalf("app/f = %q", got)
	}
	mustNotExist(t, filepath.Join(dst, "app/d"))
	if got := readFile(t, filepath.Join(dst, "app/old")); got != "stays" {
		t.Fatalf("existing file in the destination changed: %q", got)
	}
	if tgt, err := os.Readlink(filepath.Join(dst, "app/link")); err != nil || tgt != "sub/g" {
		t.Fatalf("app/link -> %q, %v", tgt, err)
	}
	if tgt, err := os.Readlink(filepath.Join(dst, "app/abs")); err != nil || tgt != "/etc/passwd" {
		t.Fatalf("app/abs -> %q, %v (links inside a tree are copied, not followed)", tgt, err)
	}
	if fi, err := os.Stat(filepath.Join(dst, "app/empty")); err != nil || !fi.IsDir() {
		t.Fatalf("empty dir not copied: %v", err)
	}
	if m := modeOf(t, filepath.Join(dst, "app/exec.sh")); m.Perm() != 0o755 || m&fs.ModeSetuid == 0 {
		t.Fatalf("exec.sh mode %v, want setuid 0755", m)
	}
	if uid, gid := ownerOf(t, filepath.Join(dst, "app/f")); uid != 0 || gid != 0 {
		t.Fatalf("app/f owned by %d:%d, want 0:0", uid, gid)
	}
	for _, p := range []string{"app/f", "app/sub/g", "app/sub", "app/empty"} {
		if mt := mtimeOf(t, filepath.Join(dst, p)); !mt.Equal(old) {
			t.Errorf("%s mtime %v, want %v", p, mt, old)
		}
	}
}

func TestCopyChownChmod(t *testing.T) {
	requireRoot(t)
	src, dst := t.TempDir(), t.TempDir()
	tree(t, src, map[string]string{"d/f": "f", "d/s/g": "g", "d/l": "->f"})
	tree(t, dst, map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\napp:x:1001:1002::/home/app:/bin/sh\n",
		"etc/group":  "root:x:0:\nstaff:x:50:\n",
	})
	own, err := ResolveOwner(dst, "app:staff")
	if err != nil {
		t.Fatal(err)
	}
	if own.UID != 1001 || own.GID != 50 {
		t.Fatalf("app:staff = %+v", own)
	}
	mode, err := ParseChmod("0750")
	if err != nil {
		t.Fatal(err)
	}
	if err := doCopy(t, src, []string{"d"}, dst, "/new/dir/", Options{Chown: own, Chmod: &mode}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"new", "new/dir", "new/dir/f", "new/dir/s", "new/dir/s/g", "new/dir/l"} {
		if uid, gid := ownerOf(t, filepath.Join(dst, p)); uid != 1001 || gid != 50 {
			t.Errorf("%s owned by %d:%d, want 1001:50", p, uid, gid)
		}
	}
	for _, p := range []string{"new/dir/f", "new/dir/s", "new/dir/s/g"} {
		if m := modeOf(t, filepath.Join(dst, p)).Perm(); m != 0o750 {
			t.Errorf("%s mode %o, want 750", p, m)
		}
	}
	for spec, want := range map[string]Owner{"app": {1001, 1001}, "7": {7, 7}, "7:8": {7, 8}, "root:staff": {0, 50}} {
		got, err := ResolveOwner(dst, spec)
		if err != nil || *got != want {
			t.Errorf("ResolveOwner(%q) = %+v, %v; want %+v", spec, got, err, want)
		}
	}
	for _, bad := range []string{"nobody", "app:nogroup", ":5", "5:", "99999999999"} {
		if _, err := ResolveOwner(dst, bad); err == nil {
			t.Errorf("ResolveOwner(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"", "abc", "888", "12345", "-1"} {
		if _, err := ParseChmod(bad); err == nil {
			t.Errorf("ParseChmod(%q) accepted", bad)
		}
	}
}

func TestCopyHardlinksAndSpecialFiles(t *testing.T) {
	requireRoot(t)
	src, dst := t.TempDir(), t.TempDir()
	tree(t, src, map[string]string{"d/a": "shared"})
	if err := os.Link(filepath.Join(src, "d/a"), filepath.Join(src, "d/b")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(src, "d/fifo"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := doCopy(t, src, []string{"d"}, dst, "/x", Options{}); err != nil {
		t.Fatal(err)
	}
	a, _ := os.Stat(filepath.Join(dst, "x/a"))
	b, _ := os.Stat(filepath.Join(dst, "x/b"))
	if a == nil || b == nil || !os.SameFile(a, b) {
		t.Fatalf("hardlinked a and b not linked in the copy")
	}
	if m := modeOf(t, filepath.Join(dst, "x/fifo")); m&fs.ModeNamedPipe == 0 || m.Perm() != 0o640 {
		t.Fatalf("fifo copied as %v", m)
	}
}

func TestCopyReplacesAndMerges(t *testing.T) {
	requireRoot(t)
	src, dst := t.TempDir(), t.TempDir()
	tree(t, src, map[string]string{"f": "new", "d/lib/x.so": "so"})
	tree(t, dst, map[string]string{"f": "old", "usr/lib/y.so": "y", "lib": "->usr/lib", "isdir/": ""})
	if err := doCopy(t, src, []string{"f"}, dst, "/f", Options{}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dst, "f")); got != "new" {
		t.Fatalf("f = %q", got)
	}
	// Merged /usr: a directory source meeting /lib -> usr/lib lands in
	// usr/lib, as in Docker.
	if err := doCopy(t, src, []string{"d"}, dst, "/", Options{}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dst, "usr/lib/x.so")); got != "so" {
		t.Fatalf("usr/lib/x.so = %q", got)
	}
	if tgt, _ := os.Readlink(filepath.Join(dst, "lib")); tgt != "usr/lib" {
		t.Fatalf("lib link replaced: %q", tgt)
	}
	if err := doCopy(t, src, []string{"f"}, dst, "/isdir/", Options{}); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dst, "isdir/f2"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := doCopy(t, src, []string{"f"}, dst, "/isdir/f2/", Options{}); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dst, "blocker"), 0o755); err != nil {
		t.Fatal(err)
	}
	tree(t, src, map[string]string{"blk/blocker": "file"})
	if err := doCopy(t, src, []string{"blk"}, dst, "/", Options{}); err == nil || !strings.Contains(err.Error(), "cannot overwrite directory") {
		t.Fatalf("file over directory: %v", err)
	}
}
