package ocispec

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseDevice(t *testing.T) {
	for in, want := range map[string]deviceSpec{
		"/dev/fuse":                {host: "/dev/fuse", ctr: "/dev/fuse", perms: "rwm"},
		"/dev/fuse:r":              {host: "/dev/fuse", ctr: "/dev/fuse", perms: "r"},
		"/dev/fuse:/dev/f":         {host: "/dev/fuse", ctr: "/dev/f", perms: "rwm"},
		"/dev/fuse:/dev/x/../f:mw": {host: "/dev/fuse", ctr: "/dev/f", perms: "mw"},
	} {
		got, err := parseDevice(in)
		if err != nil || got != want {
			t.Errorf("parseDevice(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"":           "bad format for path",
		":/dev/x":    "bad format for path",
		"/a:/b:rw:x": "bad format for path",
		"/a:/b:rwx":  "bad mode specified: rwx",
		"/a:/b:rr":   "bad mode specified: rr",
		"/a:/b:":     "bad mode specified",
		"/a:rel":     "rel is not an absolute path",
		"rel":        "rel is not an absolute path",
		"/a\x00":     "NUL",
	} {
		_, err := parseDevice(in)
		wantErr(t, err, "--device", msg)
	}
}

func TestBuildDevices(t *testing.T) {
	o := testOptions(t)
	o.Devices = []string{"/dev/null:/dev/mynull:rw", "/dev/zero"}
	s := mustBuild(t, o)
	var got []string
	for _, d := range s.Linux.Devices {
		got = append(got, d.Path)
		if d.Path == "/dev/mynull" && (d.Type != "c" || d.Major != 1 || d.Minor != 3 || d.FileMode == nil || *d.FileMode != 0o666) {
			t.Errorf("/dev/mynull: %+v", d)
		}
	}
	if !equal(got, []string{"/dev/mynull", "/dev/zero"}) {
		t.Errorf("devices %q", got)
	}
	r := s.Linux.Resources.Devices
	if len(r) != 3 || r[0].Allow || !r[1].Allow || r[1].Access != "rw" || *r[1].Major != 1 || *r[1].Minor != 3 || r[2].Access != "rwm" || *r[2].Minor != 5 {
		t.Errorf("device cgroup rules %+v", r)
	}

	// A regular file is not a device; a missing path is reported.
	o.Devices = []string{writeFile(t, t.TempDir(), "f", "x")}
	_, err := Build(o)
	wantErr(t, err, "--device", "not a device node")
	o.Devices = []string{"/dev/berth-missing-device"}
	_, err = Build(o)
	wantErr(t, err, "--device /dev/berth-missing-device", "error gathering device information")

	// A directory adds the device nodes under it (here a symlink to
	// /dev/null in a test directory: followed, as Docker resolves links).
	dir := t.TempDir()
	if err := os.Symlink("/dev/null", filepath.Join(dir, "n")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "plain", "not a device")
	o.Devices = []string{dir + ":/dev/dir"}
	s = mustBuild(t, o)
	if len(s.Linux.Devices) != 1 || s.Linux.Devices[0].Path != "/dev/dir/n" {
		t.Errorf("directory devices %+v", s.Linux.Devices)
	}
}

func TestSysctls(t *testing.T) {
	o := testOptions(t)
	o.Sysctls = []string{"net.ipv4.ip_forward=1", "kernel.shmmax=1000", "fs.mqueue.msg_max=20", "net.core.somaxconn=a=b"}
	s := mustBuild(t, o)
	want := map[string]string{"net.ipv4.ip_forward": "1", "kernel.shmmax": "1000", "fs.mqueue.msg_max": "20", "net.core.somaxconn": "a=b"}
	if len(s.Linux.Sysctl) != len(want) {
		t.Errorf("sysctls %v", s.Linux.Sysctl)
	}
	for k, v := range want {
		if s.Linux.Sysctl[k] != v {
			t.Errorf("sysctl %s = %q, want %q", k, s.Linux.Sysctl[k], v)
		}
	}
	for _, c := range []struct {
		v, netns, msg string
	}{
		{v: "kernel.hostname=x", msg: "sysctl 'kernel.hostname=x' is not allowed"},
		{v: "vm.swappiness=1", msg: "is not allowed"},
		{v: "net.ipv4.ip_forward", msg: "want KEY=VALUE"},
		{v: "=1", msg: "want KEY=VALUE"},
		{v: "net.ipv4/../../x=1", msg: "invalid sysctl name"},
		{v: "net..x=1", msg: "invalid sysctl name"},
		{v: "net.ipv4.ip_forward=1", netns: "host", msg: "not allowed in host network mode"},
	} {
		o := testOptions(t)
		o.Sysctls, o.NetNS = []string{c.v}, c.netns
		_, err := Build(o)
		wantErr(t, err, "--sysctl", c.msg)
	}
}

func TestNetwork(t *testing.T) {
	netns := func(o Options) (bool, string) {
		s := mustBuild(t, o)
		for _, n := range s.Linux.Namespaces {
			if n.Type == "network" {
				return true, n.Path
			}
		}
		return false, ""
	}
	o := testOptions(t)
	if has, p := netns(o); !has || p != "" {
		t.Errorf("default: network namespace %v %q", has, p)
	}
	o.NetNS = "host"
	if has, _ := netns(o); has {
		t.Error("host: a network namespace entry")
	}
	o.NetNS = "/run/netns/x"
	if has, p := netns(o); !has || p != "/run/netns/x" {
		t.Errorf("path: %v %q", has, p)
	}
	o.NetNS = "bridge"
	_, err := Build(o)
	wantErr(t, err, `network namespace "bridge"`)
}

func TestLabels(t *testing.T) {
	o := testOptions(t)
	o.Labels = map[string]string{"a": "1", "com.example.b": "two"}
	o.Image.Labels = map[string]string{"a": "image", "maintainer": "me"}
	s := mustBuild(t, o)
	if len(s.Annotations) != 3 || s.Annotations["com.example.b"] != "two" || s.Annotations["a"] != "1" || s.Annotations["maintainer"] != "me" {
		t.Errorf("annotations %v", s.Annotations)
	}
	o.Labels["c"] = "3"
	o.Image.Labels["d"] = "4"
	if len(s.Annotations) != 3 {
		t.Error("annotations share the caller's map")
	}
}
