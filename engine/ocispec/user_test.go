package ocispec

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const testPasswd = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin

# a comment
www:x:33:33:www:/var/www:/bin/sh
app:x:1000:1000::/home/app:/bin/sh
app:x:2000:2000:second entry loses:/:/bin/sh
`

const testGroup = `root:x:0:
daemon:x:1:
wheel:x:10:root,app
www:x:33:
app:x:1000:
staff:x:50:app
audio:x:29:www
`

func userRootfs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "etc/passwd", testPasswd)
	writeFile(t, dir, "etc/group", testGroup)
	return dir
}

func TestResolveUser(t *testing.T) {
	root := userRootfs(t)
	for _, c := range []struct {
		spec string
		want specs.User
	}{
		{"", specs.User{UID: 0, GID: 0, AdditionalGids: []uint32{0, 10}}},
		{"root", specs.User{UID: 0, GID: 0, AdditionalGids: []uint32{0, 10}}},
		{"app", specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{1000, 10, 50}}},
		{"1000", specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{1000, 10, 50}}},
		{"www", specs.User{UID: 33, GID: 33, AdditionalGids: []uint32{33, 29}}},
		{"app:staff", specs.User{UID: 1000, GID: 50, AdditionalGids: []uint32{50}}},
		{"app:33", specs.User{UID: 1000, GID: 33, AdditionalGids: []uint32{33}}},
		{"app:4242", specs.User{UID: 1000, GID: 4242, AdditionalGids: []uint32{4242}}},
		{"4321", specs.User{UID: 4321, GID: 0, AdditionalGids: []uint32{0}}},
		{"4321:4322", specs.User{UID: 4321, GID: 4322, AdditionalGids: []uint32{4322}}},
		{":wheel", specs.User{UID: 0, GID: 10, AdditionalGids: []uint32{10}}},
	} {
		got, err := ResolveUser(root, c.spec)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ResolveUser(%q) = %+v, %v; want %+v", c.spec, got, err, c.want)
		}
	}
	for spec, msg := range map[string]string{
		"nobody":      "unable to find user nobody: no matching entries in passwd file",
		"app:nogroup": "unable to find group nogroup: no matching entries in group file",
		"-1":          "must be in range",
		"4294967296":  "must be in range",
		"1:-5":        "must be in range",
		"app\x00":     "NUL",
	} {
		_, err := ResolveUser(root, spec)
		wantErr(t, err, msg)
	}
}

// TestResolveUserNoFiles: numeric ids work without passwd and group
// files; names do not.
func TestResolveUserNoFiles(t *testing.T) {
	root := t.TempDir()
	got, err := ResolveUser(root, "123:456")
	if err != nil || got.UID != 123 || got.GID != 456 {
		t.Fatalf("numeric user without files: %+v, %v", got, err)
	}
	got, err = ResolveUser(root, "")
	if err != nil || got.UID != 0 || got.GID != 0 {
		t.Fatalf("default user without files: %+v, %v", got, err)
	}
	_, err = ResolveUser(root, "foo")
	wantErr(t, err, "unable to find user foo: no matching entries in passwd file")
	_, err = ResolveUser(root, "0:bar")
	wantErr(t, err, "unable to find group bar")
}

// TestResolveUserHostileSymlink: the image's /etc/passwd is an absolute
// symlink to a passwd file the test made outside the rootfs (standing in
// for the host's /etc/passwd). It must resolve inside the rootfs.
func TestResolveUserHostileSymlink(t *testing.T) {
	outside := t.TempDir()
	hostPasswd := writeFile(t, outside, "passwd", "evil:x:4242:4242::/:/bin/sh\n")
	hostGroup := writeFile(t, outside, "group", "evilgroup:x:4343:evil\n")

	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(hostPasswd, filepath.Join(root, "etc/passwd")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../../../.."+hostGroup, filepath.Join(root, "etc/group")); err != nil {
		t.Fatal(err)
	}
	// Nothing at that path inside the rootfs: the user is unknown.
	_, err := ResolveUser(root, "evil")
	wantErr(t, err, "unable to find user evil")
	_, err = ResolveUser(root, "0:evilgroup")
	wantErr(t, err, "unable to find group evilgroup")

	// The same path inside the rootfs is what the symlink means.
	writeFile(t, root, hostPasswd, "evil:x:7:8::/:/bin/sh\n")
	writeFile(t, root, hostGroup, "inside:x:9:evil\n")
	got, err := ResolveUser(root, "evil")
	if err != nil || got.UID != 7 || got.GID != 8 || !reflect.DeepEqual(got.AdditionalGids, []uint32{8, 9}) {
		t.Fatalf("resolveUser through an in-root symlink: %+v, %v (want uid 7 gid 8 groups [8 9])", got, err)
	}
}

// TestResolveUserHostileFiles: a fifo (which would block a reader), a
// directory, and a huge line do not hang or crash Build.
func TestResolveUserHostileFiles(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "etc/passwd"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ResolveUser(root, "app")
	wantErr(t, err, "not a regular file")

	root = t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc/passwd"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = ResolveUser(root, "app")
	wantErr(t, err, "not a regular file")

	root = t.TempDir()
	long := strings.Repeat("x", 200<<10)
	writeFile(t, root, "etc/passwd", long+":x:5:5::/:/bin/sh\napp:x:1000:1000::/:/bin/sh\nneg:x:-3:-3::/:/bin/sh\n")
	got, err := ResolveUser(root, "app")
	if err != nil || got.UID != 1000 {
		t.Fatalf("after an over-long line: %+v, %v", got, err)
	}
	_, err = ResolveUser(root, "neg")
	wantErr(t, err, "out of range")
}

func TestBuildUser(t *testing.T) {
	o := testOptions(t)
	o.Rootfs = userRootfs(t)
	o.Image.User = "www"
	s := mustBuild(t, o)
	if s.Process.User.UID != 33 {
		t.Errorf("image user: %+v", s.Process.User)
	}
	// Docker gives a non-root user only the bounding set.
	if c := s.Process.Capabilities; len(c.Bounding) == 0 || len(c.Effective) != 0 || len(c.Permitted) != 0 {
		t.Errorf("non-root capabilities: %+v", c)
	}
	o.User = "app"
	s = mustBuild(t, o)
	if s.Process.User.UID != 1000 {
		t.Errorf("-u app: %+v", s.Process.User)
	}
	o.User = ""
	o.Image.User = "ghost"
	_, err := Build(o)
	wantErr(t, err, "image User", "unable to find user ghost")
	o.User = "ghost2"
	_, err = Build(o)
	wantErr(t, err, "unable to find user ghost2: no matching entries in passwd file")
}
