package ocispec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeVolumes is an Options.Volume that makes directories under a test
// directory and records the calls.
type fakeVolumes struct {
	dir   string
	calls []string
	n     int
}

func (f *fakeVolumes) volume(name, dest string) (string, error) {
	f.calls = append(f.calls, name+"@"+dest)
	if name == "" {
		f.n++
		name = "anon" + string(rune('0'+f.n))
	}
	if name == "broken" {
		return "", errors.New("store is broken")
	}
	p := filepath.Join(f.dir, name)
	return p, os.MkdirAll(p, 0o755)
}

func TestBuildMounts(t *testing.T) {
	o := testOptions(t)
	vols := &fakeVolumes{dir: t.TempDir()}
	o.Volume = vols.volume
	host := t.TempDir()
	missing := filepath.Join(host, "made/by/v")
	o.Binds = []string{host + ":/data/sub:ro", missing + ":/made", "named:/named", "/anon-flag"}
	o.Mounts = []string{"type=bind,src=" + host + ",dst=/data", "type=tmpfs,dst=/scratch,tmpfs-size=1m", "type=volume,dst=/anon-mount"}
	o.Tmpfs = []string{"/run:size=2m"}
	o.Image.Volumes = map[string]struct{}{"/var/lib/db": {}, "/named": {}, "/anon-flag": {}}
	s := mustBuild(t, o)

	if fi, err := os.Stat(missing); err != nil || !fi.IsDir() {
		t.Errorf("-v did not create its missing source: %v", err)
	}
	m := findMount(s, "/data/sub")
	if m == nil || m.Type != "bind" || m.Source != host || !equal(m.Options, []string{"rbind", "rro", "rprivate"}) {
		t.Errorf("/data/sub: %+v", m)
	}
	if m := findMount(s, "/data"); m == nil || !equal(m.Options, []string{"rbind", "rprivate"}) {
		t.Errorf("/data: %+v", m)
	}
	if m := findMount(s, "/named"); m == nil || m.Source != filepath.Join(vols.dir, "named") {
		t.Errorf("/named: %+v", m)
	}
	if m := findMount(s, "/scratch"); m == nil || m.Type != "tmpfs" || !hasOption(m.Options, "size=1m") {
		t.Errorf("/scratch: %+v", m)
	}
	if m := findMount(s, "/run"); m == nil || !hasOption(m.Options, "size=2m") || !hasOption(m.Options, "noexec") {
		t.Errorf("/run: %+v", m)
	}
	for _, d := range []string{"/var/lib/db", "/anon-flag", "/anon-mount"} {
		if m := findMount(s, d); m == nil || m.Type != "bind" || !strings.HasPrefix(m.Source, vols.dir) {
			t.Errorf("anonymous volume %s: %+v", d, m)
		}
	}
	// The image's /named is covered by the named volume: one call for it.
	want := []string{"named@/named", "@/anon-mount", "@/anon-flag", "@/var/lib/db"}
	if !equal(vols.calls, want) {
		t.Errorf("volume calls %q, want %q", vols.calls, want)
	}
	// Parents before children; default mounts first.
	pos := map[string]int{}
	for i, m := range s.Mounts {
		pos[m.Destination] = i
	}
	if pos["/data"] > pos["/data/sub"] || pos["/proc"] > pos["/data"] {
		t.Errorf("mount order: %v", pos)
	}
}

func TestBuildMountErrors(t *testing.T) {
	host := t.TempDir()
	for _, c := range []struct {
		binds, mounts, tmpfs []string
		noVolumes            bool
		msg                  []string
	}{
		{binds: []string{host + ":/c", host + ":/c/"}, msg: []string{"Duplicate mount point: /c"}},
		{binds: []string{host + ":/c"}, tmpfs: []string{"/c"}, msg: []string{"--tmpfs /c", "Duplicate mount point: /c"}},
		{mounts: []string{"type=tmpfs,dst=/c"}, tmpfs: []string{"/c:size=1m"}, msg: []string{"Duplicate mount point"}},
		{mounts: []string{"type=bind,src=" + host + "/nope,dst=/c"}, msg: []string{`invalid mount config for type "bind": bind source path does not exist: ` + host + "/nope"}},
		{mounts: []string{"type=bind,src=rel,dst=/c"}, msg: []string{"invalid mount config", "must be absolute"}},
		{binds: []string{"vol:/c"}, noVolumes: true, msg: []string{"volumes are not available"}},
		{binds: []string{"broken:/c"}, msg: []string{`volume "broken" for /c: store is broken`}},
		{binds: []string{"/h:/c:bad"}, msg: []string{"-v", "invalid mode: bad"}},
	} {
		o := testOptions(t)
		o.Binds, o.Mounts, o.Tmpfs = c.binds, c.mounts, c.tmpfs
		if !c.noVolumes {
			o.Volume = (&fakeVolumes{dir: t.TempDir()}).volume
		}
		_, err := Build(o)
		wantErr(t, err, c.msg...)
	}
	o := testOptions(t)
	o.Image.Volumes = map[string]struct{}{"relative": {}}
	o.Volume = (&fakeVolumes{dir: t.TempDir()}).volume
	_, err := Build(o)
	wantErr(t, err, "image Volumes", "relative")
}

// TestBuildNothingOnParseError: a bad flag fails before Build creates
// anything (no -v source, no working directory, no volume).
func TestBuildNothingOnParseError(t *testing.T) {
	o := testOptions(t)
	vols := &fakeVolumes{dir: t.TempDir()}
	o.Volume = vols.volume
	missing := filepath.Join(t.TempDir(), "x")
	o.Binds = []string{missing + ":/x", "v1:/v"}
	o.Workdir = "/wd"
	for _, bad := range []func(*Options){
		func(o *Options) { o.Mounts = []string{"type=bogus,dst=/y"} },
		func(o *Options) { o.CapAdd = []string{"NOPE"} },
		func(o *Options) { o.Devices = []string{"/dev/nonexistent-berth"} },
		func(o *Options) { o.Memory = "1x" },
	} {
		c := o
		bad(&c)
		if _, err := Build(c); err == nil {
			t.Fatal("bad options accepted")
		}
		if _, err := os.Stat(missing); err == nil {
			t.Fatal("a -v source was created before a bad flag was seen")
		}
		if _, err := os.Stat(filepath.Join(o.Rootfs, "wd")); err == nil {
			t.Fatal("the working directory was created before a bad flag was seen")
		}
		if len(vols.calls) > 0 {
			t.Fatalf("volumes were created before a bad flag was seen: %q", vols.calls)
		}
	}
}

func TestEtcFiles(t *testing.T) {
	o := testOptions(t)
	o.ContainerDir = t.TempDir()
	o.HostResolvConf = writeFile(t, t.TempDir(), "resolv.conf",
		"# host\nnameserver 127.0.0.53\nnameserver ::1\nnameserver 10.0.0.2\nsearch example.com\noptions edns0\n")
	o.Hostname = "web.example.com"
	s := mustBuild(t, o)
	read := func(dest string) string {
		t.Helper()
		m := findMount(s, dest)
		if m == nil || m.Type != "bind" || !strings.HasPrefix(m.Source, o.ContainerDir) {
			t.Fatalf("%s: %+v", dest, m)
		}
		b, err := os.ReadFile(m.Source)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := read("/etc/hostname"); got != "web.example.com\n" {
		t.Errorf("hostname file %q", got)
	}
	if got := read("/etc/hosts"); !strings.Contains(got, "127.0.0.1\tlocalhost\n") || !strings.Contains(got, "127.0.0.1\tweb.example.com web\n") {
		t.Errorf("hosts file %q", got)
	}
	if got := read("/etc/resolv.conf"); got != "# host\nnameserver 10.0.0.2\nsearch example.com\noptions edns0\n" {
		t.Errorf("resolv.conf %q", got)
	}

	// Only loopback resolvers: Docker's public ones; read-only rootfs:
	// read-only binds; a user's mount over /etc/hosts wins.
	o.HostResolvConf = writeFile(t, t.TempDir(), "resolv.conf", "nameserver 127.0.0.1\n")
	o.ReadOnly = true
	hosts := writeFile(t, t.TempDir(), "myhosts", "1.2.3.4 x\n")
	o.Binds = []string{hosts + ":/etc/hosts"}
	s = mustBuild(t, o)
	if got := read("/etc/resolv.conf"); got != "nameserver 8.8.8.8\nnameserver 8.8.4.4\n" {
		t.Errorf("resolv.conf with only loopback resolvers %q", got)
	}
	if m := findMount(s, "/etc/resolv.conf"); !hasOption(m.Options, "rro") {
		t.Errorf("resolv.conf with a read-only rootfs: %+v", m)
	}
	if m := findMount(s, "/etc/hosts"); m.Source != hosts {
		t.Errorf("user's /etc/hosts replaced: %+v", m)
	}

	// Host network: no /etc/hosts, the host's resolv.conf as is.
	o = testOptions(t)
	o.ContainerDir = t.TempDir()
	o.NetNS = "host"
	o.HostResolvConf = writeFile(t, t.TempDir(), "resolv.conf", "nameserver 127.0.0.53\n")
	s = mustBuild(t, o)
	if findMount(s, "/etc/hosts") != nil {
		t.Error("host network: /etc/hosts bound")
	}
	if got := read("/etc/resolv.conf"); got != "nameserver 127.0.0.53\n" {
		t.Errorf("host network resolv.conf %q", got)
	}
}

func TestDevMountOverride(t *testing.T) {
	o := testOptions(t)
	o.Tmpfs = []string{"/dev:size=1m", "/dev/shm:size=2m"}
	s := mustBuild(t, o)
	n := 0
	for _, m := range s.Mounts {
		if m.Destination == "/dev/pts" || m.Destination == "/dev/mqueue" {
			t.Errorf("default %s kept under a user /dev", m.Destination)
		}
		if m.Destination == "/dev/shm" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("/dev/shm mounted %d times", n)
	}
}

func TestRootPropagation(t *testing.T) {
	host := t.TempDir()
	o := testOptions(t)
	o.Binds = []string{host + ":/a:rslave"}
	if s := mustBuild(t, o); s.Linux.RootfsPropagation != "rslave" {
		t.Errorf("rslave bind: rootfsPropagation %q", s.Linux.RootfsPropagation)
	}
	o.Binds = []string{host + ":/a:rslave", host + ":/b:shared"}
	if s := mustBuild(t, o); s.Linux.RootfsPropagation != "shared" {
		t.Errorf("shared bind: rootfsPropagation %q", s.Linux.RootfsPropagation)
	}
}
