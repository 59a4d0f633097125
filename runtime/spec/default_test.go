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
	s := mustDefault(t)
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
	// Docker's capability set, nothing inheritable or ambient.
	docker := []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
		"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
		"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}
	c := s.Process.Capabilities
	for name, set := range map[string][]string{"bounding": c.Bounding, "effective": c.Effective, "permitted": c.Permitted} {
		if !slices.Equal(sortedStrings(set), sortedStrings(docker)) {
			t.Errorf("%s capabilities %v, want Docker's %v", name, set, docker)
		}
	}
	if len(c.Inheritable) != 0 || len(c.Ambient) != 0 {
		t.Errorf("inheritable %v, ambient %v: want none, as Docker", c.Inheritable, c.Ambient)
	}
	// Docker's seccomp profile: deny by default, none of the calls a
	// container must not make is allowed.
	sc := s.Linux.Seccomp
	if sc == nil || sc.DefaultAction != specs.ActErrno {
		t.Fatalf("seccomp %+v, want Docker's default-deny profile", sc)
	}
	if len(sc.Architectures) == 0 {
		t.Error("seccomp profile names no architecture")
	}
	allowed := map[string]bool{}
	for _, r := range sc.Syscalls {
		if r.Action == specs.ActAllow && len(r.Args) == 0 {
			for _, n := range r.Names {
				allowed[n] = true
			}
		}
	}
	for _, n := range []string{"read", "write", "execve", "exit_group"} {
		if !allowed[n] {
			t.Errorf("the default profile does not allow %s", n)
		}
	}
	for _, n := range []string{"mount", "umount2", "init_module", "finit_module", "delete_module", "keyctl",
		"add_key", "request_key", "unshare", "setns", "reboot", "kexec_load", "bpf", "swapon",
		"pivot_root", "open_by_handle_at", "perf_event_open", "clone3"} {
		if allowed[n] {
			t.Errorf("the default profile allows %s", n)
		}
	}
	for _, p := range []string{"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
		"/sys/firmware", "/sys/devices/virtual/powercap"} {
		if !slices.Contains(s.Linux.MaskedPaths, p) {
			t.Errorf("%s is not masked", p)
		}
	}
	for _, p := range []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"} {
		if !slices.Contains(s.Linux.ReadonlyPaths, p) {
			t.Errorf("%s is not read-only", p)
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
	s.Process.Capabilities.Bounding[0] = "CAP_SYS_ADMIN"
	s.Linux.Seccomp.Syscalls[0].Names[0] = "changed"
	if d := mustDefault(t); d.Process.Args[0] != "sh" || slices.Contains(d.Mounts[0].Options, "changed") ||
		slices.Contains(d.Process.Capabilities.Effective, "CAP_SYS_ADMIN") || d.Linux.Seccomp.Syscalls[0].Names[0] == "changed" {
		t.Fatal("Default shares state between calls")
	}
}

func TestRootless(t *testing.T) {
	s := mustDefault(t)
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

func sortedStrings(l []string) []string {
	c := slices.Clone(l)
	slices.Sort(c)
	return c
}

// TestDefaultSeccompFollowsCapabilities: Docker's profile opens the calls
// of the capabilities in the bounding set, and without any capability it
// still compiles.
func TestDefaultSeccompFollowsCapabilities(t *testing.T) {
	s := mustDefault(t)
	s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_SYS_ADMIN")
	sc, err := DefaultSeccomp(s)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range sc.Syscalls {
		if r.Action == specs.ActAllow && slices.Contains(r.Names, "mount") {
			found = true
		}
	}
	if !found {
		t.Error("with CAP_SYS_ADMIN the profile does not allow mount")
	}
	s.Process = nil
	if sc, err = DefaultSeccomp(s); err != nil || sc == nil {
		t.Fatalf("DefaultSeccomp without a process: %v, %v", sc, err)
	}
}

// mustDefault is Default for tests.
func mustDefault(t testing.TB) *specs.Spec {
	t.Helper()
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
