package ocispec

import (
	"encoding/json"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Warm encodes a small config with a field of each kind Build fills, so
// that the encoder's code and tables are ready when the real one is
// marshaled: its first encoding of the config's types costs about a
// millisecond more than later ones. Create runs it beside its disk work.
func Warm() {
	limit, shares, pids := int64(1), uint64(1), int64(1)
	s := specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			User: specs.User{AdditionalGids: []uint32{1}}, Args: []string{"sh"}, Env: []string{"PATH=/bin"}, Cwd: "/",
			Capabilities: &specs.LinuxCapabilities{Bounding: []string{"CAP_KILL"}, Effective: []string{"CAP_KILL"},
				Permitted: []string{"CAP_KILL"}},
			Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1, Soft: 1}},
		},
		Root:     &specs.Root{Path: "/"},
		Hostname: "h",
		Mounts:   []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid"}}},
		Linux: &specs.Linux{
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Access: "rwm"}},
				Memory:  &specs.LinuxMemory{Limit: &limit}, CPU: &specs.LinuxCPU{Shares: &shares},
				Pids: &specs.LinuxPids{Limit: &pids},
			},
			CgroupsPath: "/x",
			Namespaces:  []specs.LinuxNamespace{{Type: specs.PIDNamespace}},
			Devices:     []specs.LinuxDevice{{Path: "/dev/x", Type: "c", Major: 1, Minor: 1}},
			Seccomp: &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{specs.ArchX86_64},
				Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow,
					Args: []specs.LinuxSeccompArg{{Index: 0, Value: 1, Op: specs.OpEqualTo}}}}},
			MaskedPaths: []string{"/proc/kcore"}, ReadonlyPaths: []string{"/proc/bus"},
			Sysctl: map[string]string{"a": "b"},
		},
		Annotations: map[string]string{"a": "b"},
	}
	_, _ = json.Marshal(&s)
}
