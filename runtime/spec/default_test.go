package spec

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func hasNS(s *specs.Spec, t specs.LinuxNamespaceType) bool {
	for _, n := range s.Linux.Namespaces {
		if n.Type == t {
			return true
		}
	}
	return false
}

func mountAt(s *specs.Spec, dest string) *specs.Mount {
	for i := range s.Mounts {
		if s.Mounts[i].Destination == dest {
			return &s.Mounts[i]
		}
	}
	return nil
}

func TestDefault(t *testing.T) {
	s := Default()
	if s.Version != specs.Version {
		t.Errorf("ociVersion %q, want %q", s.Version, specs.Version)
	}
	if s.Root.Path != "rootfs" || !s.Root.Readonly {
		t.Errorf("root %+v, want a read-only rootfs", s.Root)
	}
	if !slices.Equal(s.Process.Args, []string{"sh"}) || !s.Process.Terminal || s.Process.Cwd != "/" {
		t.Errorf("process %+v, want sh on a terminal in /", s.Process)
	}
	if !s.Process.NoNewPrivileges {
		t.Error("noNewPrivileges is not set")
	}
	for _, ns := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.NetworkNamespace, specs.IPCNamespace,
		specs.UTSNamespace, specs.MountNamespace, specs.CgroupNamespace} {
		if !hasNS(s, ns) {
			t.Errorf("no %s namespace", ns)
		}
	}
	if hasNS(s, specs.UserNamespace) {
		t.Error("the default config has a user namespace")
	}
	for _, c := range s.Process.Capabilities.Bounding {
		if c == "CAP_SYS_ADMIN" || c == "CAP_NET_ADMIN" || c == "CAP_SYS_PTRACE" {
			t.Errorf("the default bounding set holds %s", c)
		}
	}
	if m := mountAt(s, "/sys/fs/cgroup"); m == nil || !slices.Contains(m.Options, "ro") {
		t.Errorf("cgroup mount %+v, want read-only", m)
	}
	if !slices.Contains(s.Linux.MaskedPaths, "/proc/kcore") || !slices.Contains(s.Linux.ReadonlyPaths, "/proc/sysrq-trigger") {
		t.Error("/proc/kcore must be masked and /proc/sysrq-trigger read-only")
	}
	// Default's result is valid (once the rootfs is set) and survives
	// config.json.
	if err := Validate(s); err != nil {
		t.Fatalf("Validate(Default()): %v", err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(b); err != nil {
		t.Fatalf("Parse of the default config: %v", err)
	}
	// Each call returns its own copy.
	s.Process.Args[0] = "changed"
	s.Mounts[0].Options = append(s.Mounts[0].Options, "changed")
	if d := Default(); d.Process.Args[0] != "sh" || slices.Contains(d.Mounts[0].Options, "changed") {
		t.Fatal("Default shares state between calls")
	}
}

func TestRootless(t *testing.T) {
	s := Default()
	Rootless(s)
	if !hasNS(s, specs.UserNamespace) {
		t.Fatal("no user namespace")
	}
	if hasNS(s, specs.NetworkNamespace) {
		t.Error("rootless config keeps a network namespace it cannot set up")
	}
	for _, ns := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.MountNamespace} {
		if !hasNS(s, ns) {
			t.Errorf("rootless config lost the %s namespace", ns)
		}
	}
	uid, gid := uint32(os.Geteuid()), uint32(os.Getegid())
	wantUID := []specs.LinuxIDMapping{{HostID: uid, ContainerID: 0, Size: 1}}
	wantGID := []specs.LinuxIDMapping{{HostID: gid, ContainerID: 0, Size: 1}}
	if !slices.Equal(s.Linux.UIDMappings, wantUID) || !slices.Equal(s.Linux.GIDMappings, wantGID) {
		t.Errorf("mappings uid %+v gid %+v, want the caller (%d:%d) mapped to root", s.Linux.UIDMappings, s.Linux.GIDMappings, uid, gid)
	}
	if mountAt(s, "/sys/fs/cgroup") != nil {
		t.Error("rootless config mounts /sys/fs/cgroup")
	}
	sys := mountAt(s, "/sys")
	if sys == nil || sys.Source != "/sys" || !slices.Contains(sys.Options, "rbind") || !slices.Contains(sys.Options, "ro") {
		t.Errorf("/sys mount %+v, want a read-only rbind of the host's /sys", sys)
	}
	if pts := mountAt(s, "/dev/pts"); pts == nil || slices.Contains(pts.Options, "gid=5") {
		t.Errorf("/dev/pts mount %+v, want no gid=5 (unmapped in the user namespace)", pts)
	}
	if s.Linux.Resources != nil {
		t.Errorf("resources %+v, want none (no cgroup delegation assumed)", s.Linux.Resources)
	}
	if err := Validate(s); err != nil {
		t.Fatalf("Validate of the rootless config: %v", err)
	}
	// Applying it twice changes nothing more.
	before, _ := json.Marshal(s)
	Rootless(s)
	after, _ := json.Marshal(s)
	if string(before) != string(after) {
		t.Fatalf("Rootless is not idempotent:\n%s\n%s", before, after)
	}
}
