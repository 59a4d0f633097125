package spec

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// validSpec is the default configuration with a rootfs, which Validate
// accepts; each case below breaks one thing in it.
func validSpec(t testing.TB) *specs.Spec {
	s := mustDefault(t)
	s.Root.Path = "/rootfs"
	s.Process.Terminal = false
	return s
}

// withoutNS removes namespaces of type t.
func withoutNS(s *specs.Spec, t specs.LinuxNamespaceType) {
	var ns []specs.LinuxNamespace
	for _, n := range s.Linux.Namespaces {
		if n.Type != t {
			ns = append(ns, n)
		}
	}
	s.Linux.Namespaces = ns
}

func setNSPath(s *specs.Spec, t specs.LinuxNamespaceType, path string) {
	for i := range s.Linux.Namespaces {
		if s.Linux.Namespaces[i].Type == t {
			s.Linux.Namespaces[i].Path = path
		}
	}
}

func withUserNS(s *specs.Spec) {
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
}

func TestValidate(t *testing.T) {
	oom := func(v int) *int { return &v }
	tests := []struct {
		name string
		edit func(s *specs.Spec)
		// want is a substring of the error, which names the field; ""
		// means the spec is valid.
		want string
	}{
		{"default", func(s *specs.Spec) {}, ""},
		{"no process", func(s *specs.Spec) { s.Process = nil }, ""},
		{"no root", func(s *specs.Spec) { s.Root = nil }, "root.path: required"},
		{"empty root path", func(s *specs.Spec) { s.Root.Path = "" }, "root.path: required"},
		{"no linux", func(s *specs.Spec) { s.Linux = nil }, "linux: required"},

		// Namespaces.
		{"unknown namespace type", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "bogus"})
		}, `linux.namespaces[6].type: unknown namespace type "bogus"`},
		{"empty namespace type", func(s *specs.Spec) {
			s.Linux.Namespaces[0].Type = ""
		}, `linux.namespaces[0].type: unknown namespace type ""`},
		{"namespace type in upper case", func(s *specs.Spec) {
			s.Linux.Namespaces[0].Type = "PID"
		}, `linux.namespaces[0].type: unknown namespace type "PID"`},
		{"duplicate namespace", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: "/proc/1/ns/net"})
		}, `linux.namespaces[6].type: duplicate namespace "network"`},
		{"relative namespace path", func(s *specs.Spec) {
			setNSPath(s, specs.NetworkNamespace, "proc/1/ns/net")
		}, `linux.namespaces[1].path: "proc/1/ns/net" must be absolute`},
		{"no mount namespace", func(s *specs.Spec) {
			withoutNS(s, specs.MountNamespace)
			s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = nil, nil
			s.Root.Readonly = false
		}, ""},
		{"masked paths without a mount namespace", func(s *specs.Spec) {
			withoutNS(s, specs.MountNamespace)
			s.Linux.MaskedPaths = []string{"/proc/kcore"}
		}, "linux.maskedPaths: needs a mount namespace"},
		{"readonly root without a mount namespace", func(s *specs.Spec) {
			withoutNS(s, specs.MountNamespace)
			s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = nil, nil
			s.Root.Readonly = true
		}, "root.readonly: needs a mount namespace"},
		{"time namespace", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
		}, ""},

		// Process.
		{"missing args", func(s *specs.Spec) { s.Process.Args = nil }, "process.args: required"},
		{"empty args", func(s *specs.Spec) { s.Process.Args = []string{} }, "process.args: required"},
		{"command line instead of args", func(s *specs.Spec) {
			s.Process.Args = nil
			s.Process.CommandLine = "cmd.exe"
		}, ""},
		{"relative cwd", func(s *specs.Spec) { s.Process.Cwd = "home" }, `process.cwd: "home" must be an absolute path`},
		{"dot cwd", func(s *specs.Spec) { s.Process.Cwd = "./" }, "process.cwd"},
		{"empty cwd", func(s *specs.Spec) { s.Process.Cwd = "" }, `process.cwd: "" must be an absolute path`},
		{"oom score too low", func(s *specs.Spec) { s.Process.OOMScoreAdj = oom(-1001) }, "process.oomScoreAdj: -1001"},
		{"oom score too high", func(s *specs.Spec) { s.Process.OOMScoreAdj = oom(1001) }, "process.oomScoreAdj: 1001"},
		{"oom score bounds", func(s *specs.Spec) { s.Process.OOMScoreAdj = oom(-1000) }, ""},
		{"unknown rlimit", func(s *specs.Spec) {
			s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_BOGUS", Hard: 1, Soft: 1})
		}, `process.rlimits[1].type: unknown rlimit "RLIMIT_BOGUS"`},
		{"rlimit in lower case", func(s *specs.Spec) {
			s.Process.Rlimits[0].Type = "rlimit_nofile"
		}, `process.rlimits[0].type: unknown rlimit "rlimit_nofile"`},
		{"rlimit without prefix", func(s *specs.Spec) {
			s.Process.Rlimits[0].Type = "NOFILE"
		}, `process.rlimits[0].type: unknown rlimit "NOFILE"`},
		{"duplicate rlimit", func(s *specs.Spec) {
			s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Hard: 10, Soft: 10})
		}, "process.rlimits[1].type: duplicate RLIMIT_NOFILE"},
		{"soft above hard", func(s *specs.Spec) {
			s.Process.Rlimits[0] = specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1025}
		}, "process.rlimits[0]: soft limit 1025 exceeds hard limit 1024"},
		{"unlimited soft and hard", func(s *specs.Spec) {
			s.Process.Rlimits[0] = specs.POSIXRlimit{Type: "RLIMIT_CORE", Hard: ^uint64(0), Soft: ^uint64(0)}
		}, ""},
		{"console size without terminal", func(s *specs.Spec) {
			s.Process.ConsoleSize = &specs.Box{Height: 24, Width: 80}
		}, "process.consoleSize: set without process.terminal"},
		{"unknown capability", func(s *specs.Spec) {
			s.Process.Capabilities.Ambient = append(s.Process.Capabilities.Ambient, "CAP_BOGUS")
		}, `process.capabilities: unknown capability "CAP_BOGUS"`},
		{"capability without prefix", func(s *specs.Spec) {
			s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "sys_admin")
		}, ""},
		{"env without equals", func(s *specs.Spec) {
			s.Process.Env = append(s.Process.Env, "JUSTANAME")
		}, `process.env: "JUSTANAME" is not NAME=value`},

		// ID mappings.
		{"user namespace with mappings", withUserNS, ""},
		{"user namespace without mappings", func(s *specs.Spec) {
			withUserNS(s)
			s.Linux.UIDMappings = nil
		}, "linux.uidMappings, linux.gidMappings: required for a new user namespace"},
		{"user namespace without gid mappings", func(s *specs.Spec) {
			withUserNS(s)
			s.Linux.GIDMappings = nil
		}, "linux.uidMappings, linux.gidMappings: required"},
		{"joined user namespace needs no mappings", func(s *specs.Spec) {
			withUserNS(s)
			setNSPath(s, specs.UserNamespace, "/proc/1/ns/user")
			s.Linux.UIDMappings, s.Linux.GIDMappings = nil, nil
		}, ""},
		{"uid mappings without user namespace", func(s *specs.Spec) {
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{HostID: 1000, Size: 1}}
		}, "linux.uidMappings: set without a user namespace"},
		{"gid mappings without user namespace", func(s *specs.Spec) {
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{HostID: 1000, Size: 1}}
		}, "linux.gidMappings: set without a user namespace"},
		{"zero-size uid mapping", func(s *specs.Spec) {
			withUserNS(s)
			s.Linux.UIDMappings = append(s.Linux.UIDMappings, specs.LinuxIDMapping{HostID: 1, ContainerID: 70000})
		}, "linux.uidMappings[1].size: must be positive"},
		{"zero-size gid mapping", func(s *specs.Spec) {
			withUserNS(s)
			s.Linux.GIDMappings[0].Size = 0
		}, "linux.gidMappings[0].size: must be positive"},

		// UTS and time.
		{"hostname without uts namespace", func(s *specs.Spec) { withoutNS(s, specs.UTSNamespace) },
			"hostname: needs a uts namespace"},
		{"hostname in a joined uts namespace", func(s *specs.Spec) { setNSPath(s, specs.UTSNamespace, "/proc/1/ns/uts") },
			""},
		{"domainname without uts namespace", func(s *specs.Spec) {
			withoutNS(s, specs.UTSNamespace)
			s.Hostname = ""
			s.Domainname = "example.org"
		}, "domainname: needs a uts namespace"},
		{"time offsets without time namespace", func(s *specs.Spec) {
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 10}}
		}, "linux.timeOffsets: needs a new time namespace"},
		{"time offsets for an unknown clock", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"realtime": {Secs: 10}}
		}, `linux.timeOffsets: unknown clock "realtime"`},
		{"time offsets", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 10}, "boottime": {Nanosecs: 5}}
		}, ""},

		// Mounts.
		{"mount without destination", func(s *specs.Spec) { s.Mounts[2].Destination = "" },
			"mounts[2].destination: required"},
		{"NUL in mount destination", func(s *specs.Spec) { s.Mounts[0].Destination = "/proc\x00/etc" },
			"mounts[0]: contains a NUL byte"},
		{"NUL in mount source", func(s *specs.Spec) { s.Mounts[1].Source = "tmp\x00fs" },
			"mounts[1]: contains a NUL byte"},
		{"idmapped mount", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: "/srv", Options: []string{"rbind", "idmap"}})
		}, `mounts[7].options: id-mapped mounts ("idmap") are not supported`},
		{"mount with id mappings", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: "/srv", Options: []string{"rbind"},
				UIDMappings: []specs.LinuxIDMapping{{HostID: 1000, Size: 1}}})
		}, "mounts[7].uidMappings, gidMappings: id-mapped mounts are not supported"},
		{"comma inside a mount option", func(s *specs.Spec) {
			s.Mounts[1].Options = append(s.Mounts[1].Options, "ro,exec")
		}, `mounts[1].options: option "ro,exec" contains a comma`},

		// Devices and paths.
		{"relative device path", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "dev/null", Type: "c", Major: 1, Minor: 3}}
		}, "linux.devices[0].path: must be absolute"},
		{"unknown device type", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/null", Type: "c"}, {Path: "/dev/x", Type: "z"}}
		}, `linux.devices[1].type: unknown device type "z"`},
		{"fifo with major (ignored, as runc)", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fifo", Type: "p", Major: 1}}
		}, ""},
		{"devices", func(s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229},
				{Path: "/dev/fifo", Type: "p"}, {Path: "/dev/loop0", Type: "b", Major: 7}}
		}, ""},
		{"relative masked path", func(s *specs.Spec) { s.Linux.MaskedPaths = append(s.Linux.MaskedPaths, "proc/kcore") },
			`linux.maskedPaths[12]: "proc/kcore" must be absolute`},
		{"relative readonly path", func(s *specs.Spec) { s.Linux.ReadonlyPaths[0] = "../proc/sys" },
			`linux.readonlyPaths[0]: "../proc/sys" must be absolute`},
		{"unknown rootfs propagation", func(s *specs.Spec) { s.Linux.RootfsPropagation = "rsharedd" },
			`linux.rootfsPropagation: unknown propagation "rsharedd"`},
		{"rootfs propagation", func(s *specs.Spec) { s.Linux.RootfsPropagation = "rslave" }, ""},

		// Sysctls: only namespaced ones, with their namespace.
		{"net sysctl with network namespace", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		}, ""},
		{"net sysctl without network namespace", func(s *specs.Spec) {
			withoutNS(s, specs.NetworkNamespace)
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		}, `linux.sysctl["net.ipv4.ip_forward"]: needs a network namespace`},
		{"shm sysctl with ipc namespace", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"kernel.shmmax": "1", "kernel.shm_rmid_forced": "1", "kernel.sem": "1 2 3 4"}
		}, ""},
		{"shm sysctl without ipc namespace", func(s *specs.Spec) {
			withoutNS(s, specs.IPCNamespace)
			s.Linux.Sysctl = map[string]string{"kernel.shmmax": "1"}
		}, `linux.sysctl["kernel.shmmax"]: needs an ipc namespace`},
		{"mqueue sysctl without ipc namespace", func(s *specs.Spec) {
			withoutNS(s, specs.IPCNamespace)
			s.Linux.Sysctl = map[string]string{"fs.mqueue.msg_max": "10"}
		}, `linux.sysctl["fs.mqueue.msg_max"]: needs an ipc namespace`},
		{"core_pattern", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"kernel.core_pattern": "|/tmp/pwn"}
		}, `linux.sysctl["kernel.core_pattern"]: not a namespaced sysctl`},
		{"core_pattern with slashes", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"kernel/core_pattern": "|/tmp/pwn"}
		}, `linux.sysctl["kernel/core_pattern"]: not a namespaced sysctl`},
		{"net sysctl escaping with dot-dot", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"net.ipv4....kernel.core_pattern": "x"}
		}, "invalid sysctl name"},
		{"net sysctl escaping with slash dot-dot", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"net/../kernel/core_pattern": "x"}
		}, "invalid sysctl name"},
		{"empty sysctl", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"": "x"} }, "invalid sysctl name"},
		{"NUL in sysctl", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"net.\x00": "x"} }, "invalid sysctl name"},
		{"kernel sysctl", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"kernel.panic": "1"}
		}, "not a namespaced sysctl; it would change the host"},
		{"vm sysctl", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"vm.overcommit_memory": "1"}
		}, "not a namespaced sysctl"},
		{"kernel.hostname with uts namespace", func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"kernel.hostname": "x"}
		}, ""},
		{"kernel.hostname in a joined uts namespace", func(s *specs.Spec) {
			s.Hostname = ""
			setNSPath(s, specs.UTSNamespace, "/proc/1/ns/uts")
			s.Linux.Sysctl = map[string]string{"kernel.hostname": "x"}
		}, "needs a new uts namespace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := validSpec(t)
			tc.edit(s)
			err := Validate(s)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v, want no error", err)
			case tc.want != "" && err == nil:
				t.Fatalf("Validate accepted the spec, want an error with %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("Validate: %v\nwant an error containing %q", err, tc.want)
			}
		})
	}
}

func TestValidateProcessForExec(t *testing.T) {
	// exec hands ValidateProcess a process.json on its own.
	p := &specs.Process{Args: []string{"sh"}, Cwd: "/", Env: []string{"A=", "=B", "C=d=e"}}
	if err := ValidateProcess(p); err != nil {
		t.Fatalf("ValidateProcess: %v", err)
	}
	p.Cwd = "relative"
	if err := ValidateProcess(p); err == nil || !strings.Contains(err.Error(), "process.cwd") {
		t.Fatalf("ValidateProcess with relative cwd: %v", err)
	}
}

func TestNamespaceOrderStartsWithUser(t *testing.T) {
	order := NamespaceOrder()
	if order[0] != specs.UserNamespace {
		t.Fatalf("namespaces are joined in order %v: the user namespace must come first", order)
	}
	order[0] = "changed"
	if NamespaceOrder()[0] != specs.UserNamespace {
		t.Fatal("NamespaceOrder returned its internal slice")
	}
}
