package image

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestBootstrapBusybox: busybox bootstraps in seconds, twice to the same
// image ID, into a tree whose bin/sh is a relative link to busybox.
func TestBootstrapBusybox(t *testing.T) {
	ieRequireRoot(t)
	ctx := context.Background()
	s := ieOpen(t, "")
	start := time.Now()
	img, id, err := s.Bootstrap(ctx, "busybox", BootstrapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bootstrap busybox: %s in %v", id, time.Since(start))
	if img.Name.Familiar() != "busybox:latest" {
		t.Fatalf("name %q", img.Name.Familiar())
	}
	img2, id2, err := s.Bootstrap(ctx, "busybox:1", BootstrapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if id2 != id || img2.Name.Familiar() != "busybox:1" {
		t.Fatalf("second bootstrap: %s %s, first %s", img2.Name.Familiar(), id2, id)
	}
	// Another store gets the same ID too.
	if _, id3, err := ieOpen(t, "").Bootstrap(ctx, "busybox", BootstrapOptions{}); err != nil || id3 != id {
		t.Fatalf("bootstrap in another store: %s %v, want %s", id3, err, id)
	}
	m, _, err := s.Manifest(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := s.Config(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.Config.Cmd, " ") != "sh" || len(cfg.Config.Env) != 1 || !strings.HasPrefix(cfg.Config.Env[0], "PATH=") {
		t.Fatalf("config %+v", cfg.Config)
	}

	dir := ieMount(t, s, "bb", img)
	if l, err := os.Readlink(filepath.Join(dir, "bin/sh")); err != nil || l != "busybox" {
		t.Fatalf("bin/sh -> %q, %v", l, err)
	}
	st, err := os.Lstat(filepath.Join(dir, "bin/busybox"))
	if err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o755 {
		t.Fatalf("bin/busybox: %v %v", st, err)
	}
	host, _ := os.Stat("/bin/busybox")
	if st.Size() != host.Size() {
		t.Fatalf("bin/busybox is %d bytes, the host's %d", st.Size(), host.Size())
	}
	// An applet outside bin links back relatively.
	links, _ := filepath.Glob(filepath.Join(dir, "usr/bin/*"))
	if len(links) == 0 {
		t.Fatal("no applets in usr/bin")
	}
	if l, err := os.Readlink(links[0]); err != nil || l != "../../bin/busybox" {
		t.Fatalf("%s -> %q, %v", links[0], l, err)
	}
	if st, err := os.Stat(filepath.Join(dir, "tmp")); err != nil || st.Mode()&os.ModeSticky == 0 || st.Mode().Perm() != 0o777 {
		t.Fatalf("tmp: %v %v", st, err)
	}
	for _, f := range []string{"etc/passwd", "etc/group", "root", "var", "proc", "sys", "dev"} {
		if _, err := os.Lstat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "etc/passwd")); err != nil || !strings.HasPrefix(string(b), "root:x:0:0:") {
		t.Fatalf("etc/passwd %q %v", b, err)
	}
	rows, err := s.History(ctx, img)
	if err != nil || len(rows) != 1 || rows[0].CreatedBy != "berth image bootstrap busybox" || rows[0].Size < host.Size() {
		t.Fatalf("history %+v %v", rows, err)
	}
}

// TestBootstrapSourceDateEpoch: SOURCE_DATE_EPOCH sets every time.
func TestBootstrapSourceDateEpoch(t *testing.T) {
	ieRequireRoot(t)
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	ctx := context.Background()
	s := ieOpen(t, "")
	img, _, err := s.Bootstrap(ctx, "busybox", BootstrapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, _, _ := s.Manifest(ctx, img)
	cfg, err := s.Config(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Created.Unix() != 1700000000 {
		t.Fatalf("created %v", cfg.Created)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	if _, _, err := s.Bootstrap(ctx, "busybox", BootstrapOptions{}); err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
		t.Fatalf("bad SOURCE_DATE_EPOCH: %v", err)
	}
}

func TestBootstrapRefuses(t *testing.T) {
	ieRequireRoot(t)
	ctx := context.Background()
	s := ieOpen(t, "")
	for _, name := range []string{"alpine", "debian:../x", "debian:-o", "busybox:Bad Tag"} {
		if _, _, err := s.Bootstrap(ctx, name, BootstrapOptions{}); err == nil {
			t.Errorf("bootstrap %q succeeded", name)
		}
	}
	// A dynamic executable is not a busybox for an image without libc.
	if _, _, err := s.Bootstrap(ctx, "busybox", BootstrapOptions{BusyboxPath: "/bin/ls"}); err == nil || !strings.Contains(err.Error(), "dynamically linked") {
		t.Errorf("dynamic busybox: %v", err)
	}
	if imgs, _ := s.List(ctx); len(imgs) != 0 {
		t.Fatalf("images left: %+v", imgs)
	}
}

func TestDebianMirror(t *testing.T) {
	cases := []struct {
		text   string
		deb822 bool
		want   string
	}{
		{"deb http://ftp.fr.debian.org/debian bookworm main\n", false, "http://ftp.fr.debian.org/debian"},
		{"# deb http://x/debian a b\ndeb [arch=amd64 signed-by=/k] http://m.example/debian/ bookworm main\n", false, "http://m.example/debian"},
		{"deb http://security.debian.org/debian-security bookworm-security main\n", false, ""},
		{"deb-src http://m/debian bookworm main\n", false, ""},
		{"Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\n", true, "http://deb.debian.org/debian"},
		{"Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n\nTypes: deb deb-src\nURIs: https://mirror.example/debian\n", true, "https://mirror.example/debian"},
		{"Enabled: no\nTypes: deb\nURIs: http://off/debian\n", true, ""},
		{"Types: deb\nURIs: https://deb.nodesource.com/node_20.x\n", true, ""},
	}
	for _, c := range cases {
		if got := debianMirror(c.text, c.deb822); got != c.want {
			t.Errorf("%q: %q, want %q", c.text, got, c.want)
		}
	}
	if m := hostDebianMirror(); !strings.HasPrefix(m, "http") {
		t.Errorf("host mirror %q", m)
	}
}

func TestUnescapeMountinfo(t *testing.T) {
	for in, want := range map[string]string{`/a\040b`: "/a b", `/x\134y`: `/x\y`, `/plain`: "/plain", `/bad\04`: `/bad\04`, `/t\011`: "/t\t"} {
		if got := unescapeMountinfo(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// TestRemoveBootstrapDir: a work directory with mounts left in it (a
// killed debootstrap's /proc, /dev bind) is removed without removing
// anything through the mounts.
func TestRemoveBootstrapDir(t *testing.T) {
	ieRequireRoot(t)
	src := t.TempDir()
	sentinel := filepath.Join(src, "keep")
	if err := os.WriteFile(sentinel, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	dev := filepath.Join(work, "rootfs", "dev")
	proc := filepath.Join(work, "rootfs", "a dir", "proc")
	for _, d := range []string{dev, proc} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mount(src, dev, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(dev, unix.MNT_DETACH) })
	if err := unix.Mount("tmpfs", proc, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(proc, unix.MNT_DETACH) })
	if mps, err := mountsUnder(work); err != nil || len(mps) != 2 {
		t.Fatalf("mounts under %s: %v %v", work, mps, err)
	}
	if err := removeBootstrapDir(work); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(work); !os.IsNotExist(err) {
		t.Fatalf("work dir still there: %v", err)
	}
	if _, err := os.Stat(sentinel); err != nil {
		t.Fatalf("removed through the bind mount: %v", err)
	}
}

// TestBootstrapDebian runs debootstrap (minutes, network to the Debian
// mirror); set BERTH_TEST_DEBOOTSTRAP=1 to run it.
func TestBootstrapDebian(t *testing.T) {
	ieRequireRoot(t)
	if os.Getenv("BERTH_TEST_DEBOOTSTRAP") != "1" {
		t.Skip("takes minutes and needs the Debian mirror: set BERTH_TEST_DEBOOTSTRAP=1")
	}
	ctx := context.Background()
	s := ieOpen(t, "")
	start := time.Now()
	var progress strings.Builder
	img, id, err := s.Bootstrap(ctx, "debian:bookworm", BootstrapOptions{Progress: &progress})
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	rows, err := s.History(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	m, _, _ := s.Manifest(ctx, img)
	t.Logf("debian:bookworm %s in %v: layer %d bytes compressed, %d bytes of files; %d progress lines",
		id, time.Since(start), m.Layers[0].Size, rows[0].Size, strings.Count(progress.String(), "\n"))
	dir := ieMount(t, s, "deb", img)
	for _, f := range []string{"bin/bash", "usr/bin/apt-get", "etc/debian_version"} {
		if _, err := os.Lstat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "var/cache/apt/archives")); len(ents) > 1 {
		t.Errorf("apt cache not stripped: %d entries", len(ents))
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "dev")); len(ents) != 0 {
		t.Errorf("dev not emptied: %d entries", len(ents))
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "etc/debian_version")); !strings.HasPrefix(string(b), "12") {
		t.Errorf("debian_version %q", b)
	}
	leftovers, _ := filepath.Glob(filepath.Join(os.TempDir(), "berth-bootstrap-*"))
	if len(leftovers) != 0 {
		t.Errorf("work dirs left: %v", leftovers)
	}
}
