package copy

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestHostileSymlinksFrom: paths through symlinks that point out of the
// root are resolved inside it (CVE-2018-15664 class); the outside
// sentinel files are never read.
func TestHostileSymlinksFrom(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	for _, p := range []string{"/evil/etc/x", "/evil2/etc/x", "evil/../evil2/etc/x", "/../../etc/x", "/evil/evil2/evil/etc/x"} {
		b, st, err := fromC(t, s.rootfs, p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if st.Name != "x" || st.Size != int64(len("inside")) {
			t.Errorf("%s: stat %+v", p, st)
		}
		if !bytes.Contains(b, []byte("inside")) || bytes.Contains(b, []byte(sentinel)) {
			t.Fatalf("%s: copied the wrong file", p)
		}
	}
	// The sentinel's path through a climbing or absolute link resolves to
	// a missing path inside the root.
	for _, p := range []string{"/evil3/secret", "/evil4/secret", "/evil2/outside/secret", "/evil3/", "/evil4/."} {
		b, _, err := fromC(t, s.rootfs, p)
		wantErr(t, err, ErrNotFound)
		if len(b) != 0 {
			t.Fatalf("%s: wrote %d bytes", p, len(b))
		}
	}
	// Followed links (-L) resolve inside too.
	var buf bytes.Buffer
	_, err := FromContainerWith(context.Background(), s.rootfs, "/evil3", &buf, FromOptions{FollowLink: true})
	wantErr(t, err, ErrNotFound)
	// Copying the whole root copies the links as links.
	b, _, err := fromC(t, s.rootfs, "/")
	must(t, err)
	if bytes.Contains(b, []byte(sentinel)) {
		t.Fatal("copy of / read outside the root")
	}
	s.check(t)
}

// TestHostileSymlinksTo: copies into paths through outward symlinks land
// inside the root.
func TestHostileSymlinksTo(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	ctx := context.Background()
	host := t.TempDir()
	must(t, os.WriteFile(filepath.Join(host, "file"), []byte("payload"), 0o644))
	upload := func(dst string) error {
		var buf bytes.Buffer
		src, err := TarHost(ctx, &buf, filepath.Join(host, "file"), false)
		must(t, err)
		return ToContainer(ctx, s.rootfs, dst, &buf, ToOptions{Source: &src, NoOverwriteDirNonDir: true})
	}
	must(t, upload("/evil/target"))
	must(t, upload("/evil2/etc/"))
	must(t, upload("/evil/evil2/etc/x")) // replaces rootfs/etc/x
	for _, p := range []string{"target", "etc/file", "etc/x"} {
		if b, err := os.ReadFile(filepath.Join(s.rootfs, p)); err != nil || string(b) != "payload" {
			t.Errorf("rootfs/%s: %q %v", p, b, err)
		}
	}
	// Through links to the sentinel directory: a missing parent inside
	// the root, or (a dangling link as the destination) a new file in it.
	wantErr(t, upload("/evil4/secret"), ErrNotFound)
	wantErr(t, upload("/evil3/secret"), ErrNotFound)
	must(t, upload("/evil3"))
	if b, err := os.ReadFile(filepath.Join(s.rootfs, "outside")); err != nil || string(b) != "payload" {
		t.Errorf("rootfs/outside: %q %v", b, err)
	}
	s.check(t)
}

// TestHostileTar: archives that try to climb out, write through links or
// link to outside files.
func TestHostileTar(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct {
		name string
		ents []tarEntry
		ok   bool // extraction must succeed, inside the root
		any  bool // extraction may fail or succeed, inside the root
	}{
		{name: "dotdot", ents: []tarEntry{{name: "../pwn", body: "x"}}},
		{name: "deep dotdot", ents: []tarEntry{{name: "a/../../../pwn", body: "x"}}},
		{name: "abs dotdot", ents: []tarEntry{{name: "/../../outside/pwn", body: "x"}}},
		{name: "symlink then write", any: true, ents: []tarEntry{
			{name: "l", typ: '2', link: "../../outside"}, {name: "l/pwn", body: "x"}}},
		{name: "abs symlink then write", ok: true, ents: []tarEntry{
			{name: "l", typ: '2', link: "/"}, {name: "l/pwn", body: "x"}}},
		{name: "host abs symlink then write", ents: []tarEntry{
			{name: "l", typ: '2', link: "OUTSIDE"}, {name: "l/pwn", body: "x"}}},
		{name: "symlink then overwrite", ok: true, ents: []tarEntry{
			{name: "secret", typ: '2', link: "OUTSIDE/secret"}, {name: "secret", body: "x"}}},
		{name: "symlink dir then mkdir", ents: []tarEntry{
			{name: "l", typ: '2', link: "OUTSIDE"}, {name: "l/d", typ: '5', mode: 0o755}}},
		{name: "hardlink out", ents: []tarEntry{{name: "h", typ: '1', link: "../outside/secret"}}},
		{name: "hardlink through link", ents: []tarEntry{
			{name: "l", typ: '2', link: "OUTSIDE"}, {name: "h", typ: '1', link: "l/secret"}}},
		{name: "hardlink through evil", ents: []tarEntry{{name: "h", typ: '1', link: "evil4/secret"}}},
		{name: "chmod through link", ok: true, ents: []tarEntry{
			{name: "l", typ: '2', link: "OUTSIDE/secret"}, {name: "l", typ: '5', mode: 0o777}}},
		{name: "write through evil", any: true, ents: []tarEntry{{name: "evil3/secret", body: "x"}}},
		{name: "dir through evil", ok: true, ents: []tarEntry{{name: "evil4/", typ: '5', mode: 0o777}, {name: "evil4/secret", body: "x"}}},
		{name: "sparse", ents: []tarEntry{{name: "s", typ: 'S'}}},
		{name: "overlay xattr", ok: true, ents: []tarEntry{{name: "x", body: "x", xattrs: map[string]string{"trusted.overlay.redirect": "/outside"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSandbox(t)
			for i := range tc.ents {
				tc.ents[i].link = strings.ReplaceAll(tc.ents[i].link, "OUTSIDE", s.outside)
			}
			err := ToContainer(context.Background(), s.rootfs, "/", bytes.NewReader(mkTar(t, tc.ents...)), ToOptions{})
			if !tc.ok && !tc.any && err == nil {
				t.Error("hostile archive accepted")
			}
			if tc.ok && err != nil {
				t.Errorf("archive refused: %v", err)
			}
			s.check(t)
		})
	}
}

// TestHostileToHost: a stream from a container, extracted on the host,
// stays inside the destination and brings no privileges with it.
func TestHostileToHost(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	dst := filepath.Join(s.rootfs, "hostdst") // a test-made host directory
	must(t, os.Mkdir(dst, 0o755))
	tarball := mkTar(t,
		tarEntry{name: "d", typ: '5', mode: 0o755},
		tarEntry{name: "d/l", typ: '2', link: "/"},
		tarEntry{name: "d/l/pwn", body: "x"},
		tarEntry{name: "d/suid", body: "#!", mode: 0o6755, uid: 0, xattrs: map[string]string{capXattr: "\x01\x00\x00\x02"}},
		tarEntry{name: "d/dev", typ: '3', mode: 0o666},
	)
	must(t, ExtractHost(context.Background(), bytes.NewReader(tarball), Source{Base: "d", IsDir: true}, dst, HostOptions{Logger: quiet()}))
	for _, ents := range [][]tarEntry{
		{{name: "d/up", typ: '2', link: "../../../outside"}, {name: "d/up/pwn", body: "x"}},
		{{name: "d/h", typ: '1', link: "../outside/secret"}},
		{{name: "d/h", typ: '1', link: "d/up/secret"}},
		{{name: "../outside/pwn", body: "x"}},
	} {
		err := ExtractHost(context.Background(), bytes.NewReader(mkTar(t, ents...)), Source{Base: "d", IsDir: true}, dst, HostOptions{Logger: quiet()})
		if err == nil {
			t.Errorf("hostile archive %v accepted", ents)
		}
	}
	var st unix.Stat_t
	must(t, unix.Lstat(filepath.Join(dst, "d", "suid"), &st))
	if st.Mode&(unix.S_ISUID|unix.S_ISGID) != 0 {
		t.Errorf("set-id bits kept on the host: %o", st.Mode)
	}
	if n, _ := unix.Lgetxattr(filepath.Join(dst, "d", "suid"), capXattr, make([]byte, 64)); n > 0 {
		t.Error("file capabilities kept on the host")
	}
	if _, err := os.Lstat(filepath.Join(dst, "d", "dev")); err == nil {
		t.Error("device node made on the host")
	}
	if _, err := os.Lstat(filepath.Join(dst, "pwn")); err != nil {
		t.Errorf("write through d/l -> / should land in the destination: %v", err)
	}
	if _, err := os.Lstat("/pwn"); err == nil {
		t.Fatal("wrote /pwn on the host")
	}
	s.check(t)
}

// TestHostOnlyCopiedPath: a stream renamed into the destination's parent
// may not write beside the destination.
func TestHostOnlyCopiedPath(t *testing.T) {
	requireRoot(t)
	dst := t.TempDir()
	tarball := mkTar(t, tarEntry{name: "f", body: "x"}, tarEntry{name: ".bashrc", body: "evil"})
	err := ExtractHost(context.Background(), bytes.NewReader(tarball), Source{Base: "f"}, filepath.Join(dst, "new"), HostOptions{Logger: quiet()})
	if err == nil {
		t.Fatal("entry beside the destination accepted")
	}
	if _, err := os.Lstat(filepath.Join(dst, ".bashrc")); err == nil {
		t.Fatal("wrote beside the destination")
	}
	if b, err := os.ReadFile(filepath.Join(dst, "new")); err != nil || string(b) != "x" {
		t.Fatalf("new: %q %v", b, err)
	}
}
