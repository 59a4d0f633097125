package ocispec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func strp(s string) *string { return &s }

// TestArgs covers Docker's entrypoint and command rules.
func TestArgs(t *testing.T) {
	for _, c := range []struct {
		name          string
		imgEP, imgCmd []string
		entrypoint    *string
		cmd           []string
		init          bool
		want          []string
		noCommand     bool
	}{
		{name: "image cmd only", imgCmd: []string{"sh"}, want: []string{"sh"}},
		{name: "image entrypoint and cmd", imgEP: []string{"/ep", "-x"}, imgCmd: []string{"a"}, want: []string{"/ep", "-x", "a"}},
		{name: "user cmd replaces image cmd", imgEP: []string{"/ep"}, imgCmd: []string{"a"}, cmd: []string{"b", "c"}, want: []string{"/ep", "b", "c"}},
		{name: "entrypoint drops image cmd", imgEP: []string{"/ep"}, imgCmd: []string{"a"}, entrypoint: strp("/new"), want: []string{"/new"}},
		{name: "entrypoint with user cmd", imgCmd: []string{"a"}, entrypoint: strp("/new"), cmd: []string{"x"}, want: []string{"/new", "x"}},
		{name: "entrypoint is one word", entrypoint: strp("/bin/echo hi"), want: []string{"/bin/echo hi"}},
		{name: "empty entrypoint clears", imgEP: []string{"/ep"}, imgCmd: []string{"a"}, entrypoint: strp(""), cmd: []string{"ls"}, want: []string{"ls"}},
		{name: "empty entrypoint without cmd", imgEP: []string{"/ep"}, imgCmd: []string{"a"}, entrypoint: strp(""), noCommand: true},
		{name: "nothing at all", noCommand: true},
		{name: "init", imgCmd: []string{"sh"}, init: true, want: []string{"/sbin/berth-init", "--", "sh"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := Options{Entrypoint: c.entrypoint, Cmd: c.cmd, Init: c.init}
			o.Image.Entrypoint, o.Image.Cmd = c.imgEP, c.imgCmd
			got, err := args(&o)
			if c.noCommand {
				if !errors.Is(err, ErrNoCommand) {
					t.Fatalf("args = %q, %v; want ErrNoCommand", got, err)
				}
				return
			}
			if err != nil || !equal(got, c.want) {
				t.Fatalf("args = %q, %v; want %q", got, err, c.want)
			}
		})
	}
	o := Options{Cmd: []string{"a\x00b"}}
	if _, err := args(&o); err == nil {
		t.Error("a NUL byte in an argument was accepted")
	}
}

func TestBuildProcess(t *testing.T) {
	o := testOptions(t)
	o.TTY = true
	o.Workdir = "/srv/app/../data"
	s := mustBuild(t, o)
	if !s.Process.Terminal || s.Process.Cwd != "/srv/data" {
		t.Errorf("terminal %v cwd %q", s.Process.Terminal, s.Process.Cwd)
	}
	if fi, err := os.Stat(filepath.Join(o.Rootfs, "srv/data")); err != nil || !fi.IsDir() {
		t.Errorf("working directory not created in the rootfs: %v", err)
	}
	if s.Hostname != "0123456789ab" || s.Linux.CgroupsPath != "/berth/0123456789abcdef0123" {
		t.Errorf("hostname %q cgroupsPath %q", s.Hostname, s.Linux.CgroupsPath)
	}
	if s.Root.Path != o.Rootfs || s.Root.Readonly {
		t.Errorf("root %+v", s.Root)
	}
	if s.Process.NoNewPrivileges {
		t.Error("noNewPrivileges set by default; Docker leaves it off")
	}
	o.ReadOnly = true
	o.Hostname = "web.example"
	s = mustBuild(t, o)
	if !s.Root.Readonly || s.Hostname != "web.example" {
		t.Errorf("root %+v hostname %q", s.Root, s.Hostname)
	}
	if m := findMount(s, "/sys"); m == nil || !hasOption(m.Options, "ro") {
		t.Errorf("/sys with a read-only rootfs: %+v", m)
	}
}

func TestWorkdir(t *testing.T) {
	o := testOptions(t)
	o.Image.WorkingDir = "/img"
	s := mustBuild(t, o)
	if s.Process.Cwd != "/img" {
		t.Errorf("cwd %q, want the image's /img", s.Process.Cwd)
	}
	for _, bad := range []string{"rel/dir", "./x"} {
		o.Workdir = bad
		_, err := Build(o)
		wantErr(t, err, "-w", bad, "absolute")
	}
	// A symlink in the image pointing out of the rootfs: the directory is
	// created inside the rootfs, not on the host.
	o = testOptions(t)
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(o.Rootfs, "escape")); err != nil {
		t.Fatal(err)
	}
	// The same path exists inside the rootfs: that is where it resolves.
	if err := os.MkdirAll(filepath.Join(o.Rootfs, outside), 0o755); err != nil {
		t.Fatal(err)
	}
	o.Workdir = "/escape/made"
	mustBuild(t, o)
	if _, err := os.Stat(filepath.Join(outside, "made")); err == nil {
		t.Fatal("the working directory was created outside the rootfs through a symlink")
	}
	if _, err := os.Stat(filepath.Join(o.Rootfs, outside, "made")); err != nil {
		t.Errorf("the working directory is not inside the rootfs: %v", err)
	}
	// A file where the directory should be.
	o = testOptions(t)
	writeFile(t, o.Rootfs, "file", "x")
	o.Workdir = "/file"
	_, err := Build(o)
	wantErr(t, err, "-w /file")
}

func TestHostname(t *testing.T) {
	o := testOptions(t)
	for _, bad := range []string{strings.Repeat("a", 65), "a b", "a/b", "ä"} {
		o.Hostname = bad
		_, err := Build(o)
		wantErr(t, err, "-h", "invalid hostname")
	}
	o.Hostname = ""
	o.NetNS = "host"
	s := mustBuild(t, o)
	if h, _ := os.Hostname(); s.Hostname != h {
		t.Errorf("host network hostname %q, want the host's %q", s.Hostname, h)
	}
}

func TestBuildRequired(t *testing.T) {
	o := testOptions(t)
	o.ID = ""
	_, err := Build(o)
	wantErr(t, err, "container ID")
	o = testOptions(t)
	o.Rootfs = "rel"
	_, err = Build(o)
	wantErr(t, err, "rootfs")
	o = testOptions(t)
	o.Image.Cmd = nil
	_, err = Build(o)
	if !errors.Is(err, ErrNoCommand) {
		t.Errorf("no command: %v", err)
	}
	o = testOptions(t)
	o.Init = true
	_, err = Build(o)
	wantErr(t, err, "--init")
	o.InitPath = "/usr/bin/true"
	s := mustBuild(t, o)
	if m := findMount(s, "/sbin/berth-init"); m == nil || m.Source != "/usr/bin/true" || !hasOption(m.Options, "ro") {
		t.Errorf("init mount %+v", m)
	}
}

// TestBuildConsoleSize: with a terminal, the size berth was run from is
// the container's terminal's from the start; without one, none.
func TestBuildConsoleSize(t *testing.T) {
	o := testOptions(t)
	o.TTY, o.ConsoleRows, o.ConsoleCols = true, 33, 111
	if cs := mustBuild(t, o).Process.ConsoleSize; cs == nil || cs.Height != 33 || cs.Width != 111 {
		t.Errorf("consoleSize %+v, want 33x111", cs)
	}
	o = testOptions(t)
	o.ConsoleRows, o.ConsoleCols = 33, 111
	if cs := mustBuild(t, o).Process.ConsoleSize; cs != nil {
		t.Errorf("consoleSize %+v without a terminal", cs)
	}
	o = testOptions(t)
	o.TTY, o.ConsoleRows = true, 33
	if cs := mustBuild(t, o).Process.ConsoleSize; cs != nil {
		t.Errorf("consoleSize %+v from a half-known size", cs)
	}
}
