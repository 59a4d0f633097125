package spec

import (
	"fmt"
	"os"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// dockerCaps is Docker's default capability set.
func dockerCaps() []string {
	return []string{
		"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
		"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
		"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
	}
}

// Default returns the configuration `berth-runtime spec` writes: runc's
// container (busybox-style rootfs, sh on a terminal, the default mounts)
// confined as a default Docker container is: Docker's capability set (in
// the bounding, effective and permitted sets; none inheritable or
// ambient), its seccomp profile for this host, and its masked and
// read-only paths.
func Default() (*specs.Spec, error) {
	s := &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: "rootfs", Readonly: true},
		Process: &specs.Process{
			Terminal: true,
			User:     specs.User{},
			Args:     []string{"sh"},
			Env:      []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"},
			Cwd:      "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  dockerCaps(),
				Effective: dockerCaps(),
				Permitted: dockerCaps(),
			},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
			NoNewPrivileges: true,
		},
		Hostname: "berth",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
		},
		Linux: &specs.Linux{
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
			Namespaces: DefaultNamespaces(),
			// Docker's lists (moby's oci/defaults.go).
			MaskedPaths: []string{
				"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
				"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
				"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
			},
			ReadonlyPaths: []string{
				"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
			},
		},
	}
	sc, err := DefaultSeccomp(s)
	if err != nil {
		// Only an unreadable kernel release gets here; a default that is
		// silently unconfined would be worse than none.
		return nil, err
	}
	s.Linux.Seccomp = sc
	return s, nil
}

// DefaultNamespaces are the namespaces of the default spec: all new,
// but for the user and time namespaces.
func DefaultNamespaces() []specs.LinuxNamespace {
	return []specs.LinuxNamespace{
		{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.IPCNamespace},
		{Type: specs.UTSNamespace}, {Type: specs.MountNamespace}, {Type: specs.CgroupNamespace},
	}
}

// DefaultSeccomp returns Docker's default seccomp profile for s on this
// host: the rules for its architecture, for the capabilities in s's
// bounding set, and for the running kernel.
func DefaultSeccomp(s *specs.Spec) (*specs.LinuxSeccomp, error) {
	if s.Process == nil || s.Process.Capabilities == nil {
		// The profile's rules depend on the bounding set; none is granted.
		c := *s
		p := specs.Process{Capabilities: &specs.LinuxCapabilities{}}
		c.Process = &p
		s = &c
	}
	sc, err := mobyseccomp.GetDefaultProfile(s)
	if err != nil {
		return nil, fmt.Errorf("docker's default seccomp profile: %w", err)
	}
	return sc, nil
}

// Rootless turns s into a configuration an unprivileged user can run, as
// `runc spec --rootless` does: a user namespace mapping the caller to root,
// no network namespace, /sys bound from the host and no cgroup mount.
func Rootless(s *specs.Spec) {
	s.Linux.Resources = nil
	var ns []specs.LinuxNamespace
	for _, n := range s.Linux.Namespaces {
		if n.Type == specs.NetworkNamespace || n.Type == specs.UserNamespace {
			continue
		}
		ns = append(ns, n)
	}
	s.Linux.Namespaces = append(ns, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{HostID: uint32(os.Geteuid()), ContainerID: 0, Size: 1}}
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{HostID: uint32(os.Getegid()), ContainerID: 0, Size: 1}}
	var mounts []specs.Mount
	for _, m := range s.Mounts {
		switch m.Destination {
		case "/sys/fs/cgroup":
			continue
		case "/sys":
			m = specs.Mount{Destination: "/sys", Type: "none", Source: "/sys", Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}}
		case "/dev/pts":
			var opts []string
			for _, o := range m.Options {
				if o != "gid=5" {
					opts = append(opts, o)
				}
			}
			m.Options = opts
		}
		mounts = append(mounts, m)
	}
	s.Mounts = mounts
}
