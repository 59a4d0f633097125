package spec

import (
	"fmt"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/runtime/caps"
)

// nsFlags are the namespace types of runtime-spec v1.2, in the order they
// are joined (user first, so the others are joined with its privileges).
var nsOrder = []specs.LinuxNamespaceType{
	specs.UserNamespace, specs.IPCNamespace, specs.UTSNamespace,
	specs.NetworkNamespace, specs.PIDNamespace, specs.MountNamespace,
	specs.CgroupNamespace, specs.TimeNamespace,
}

// NamespaceOrder returns the namespace types in the order they are joined.
func NamespaceOrder() []specs.LinuxNamespaceType {
	return append([]specs.LinuxNamespaceType(nil), nsOrder...)
}

// Rlimits names the rlimit types runtime-spec allows.
var rlimitNames = map[string]bool{
	"RLIMIT_AS": true, "RLIMIT_CORE": true, "RLIMIT_CPU": true, "RLIMIT_DATA": true,
	"RLIMIT_FSIZE": true, "RLIMIT_LOCKS": true, "RLIMIT_MEMLOCK": true,
	"RLIMIT_MSGQUEUE": true, "RLIMIT_NICE": true, "RLIMIT_NOFILE": true,
	"RLIMIT_NPROC": true, "RLIMIT_RSS": true, "RLIMIT_RTPRIO": true,
	"RLIMIT_RTTIME": true, "RLIMIT_SIGPENDING": true, "RLIMIT_STACK": true,
}

// Validate checks the parts of a configuration berth-runtime relies on and
// returns an error naming the first bad field.
func Validate(s *specs.Spec) error {
	if s.Root == nil || s.Root.Path == "" {
		return fmt.Errorf("root.path: required")
	}
	if s.Linux == nil {
		return fmt.Errorf("linux: required on Linux")
	}
	if s.Process != nil {
		if err := ValidateProcess(s.Process); err != nil {
			return err
		}
	}
	ns, err := validateNamespaces(s.Linux.Namespaces)
	if err != nil {
		return err
	}
	if !ns[specs.MountNamespace] {
		// The container then shares the runtime's mount namespace, as the
		// spec says: its mounts are made there and it is entered by chroot.
		// What only a private mount table can do is refused, as runc does.
		switch {
		case len(s.Linux.MaskedPaths) > 0:
			return fmt.Errorf("linux.maskedPaths: needs a mount namespace")
		case len(s.Linux.ReadonlyPaths) > 0:
			return fmt.Errorf("linux.readonlyPaths: needs a mount namespace")
		case s.Root.Readonly:
			return fmt.Errorf("root.readonly: needs a mount namespace")
		case s.Linux.RootfsPropagation != "":
			return fmt.Errorf("linux.rootfsPropagation: needs a mount namespace")
		}
	}
	if ns[specs.UserNamespace] && nsPath(s, specs.UserNamespace) == "" {
		if len(s.Linux.UIDMappings) == 0 || len(s.Linux.GIDMappings) == 0 {
			return fmt.Errorf("linux.uidMappings, linux.gidMappings: required for a new user namespace")
		}
	} else if !ns[specs.UserNamespace] {
		if len(s.Linux.UIDMappings) > 0 {
			return fmt.Errorf("linux.uidMappings: set without a user namespace")
		}
		if len(s.Linux.GIDMappings) > 0 {
			return fmt.Errorf("linux.gidMappings: set without a user namespace")
		}
	}
	for i, m := range s.Linux.UIDMappings {
		if m.Size == 0 {
			return fmt.Errorf("linux.uidMappings[%d].size: must be positive", i)
		}
	}
	for i, m := range s.Linux.GIDMappings {
		if m.Size == 0 {
			return fmt.Errorf("linux.gidMappings[%d].size: must be positive", i)
		}
	}
	// A joined uts namespace (a pod's, say) may be given a hostname, as
	// runc and crun do; the host's may not.
	if s.Hostname != "" && !ns[specs.UTSNamespace] {
		return fmt.Errorf("hostname: needs a uts namespace")
	}
	if s.Domainname != "" && !ns[specs.UTSNamespace] {
		return fmt.Errorf("domainname: needs a uts namespace")
	}
	if len(s.Linux.TimeOffsets) > 0 && (!ns[specs.TimeNamespace] || nsPath(s, specs.TimeNamespace) != "") {
		return fmt.Errorf("linux.timeOffsets: needs a new time namespace")
	}
	for k := range s.Linux.TimeOffsets {
		if k != "monotonic" && k != "boottime" {
			return fmt.Errorf("linux.timeOffsets: unknown clock %q (want monotonic or boottime)", k)
		}
	}
	for i, m := range s.Mounts {
		if m.Destination == "" {
			return fmt.Errorf("mounts[%d].destination: required", i)
		}
		if strings.ContainsRune(m.Destination, 0) || strings.ContainsRune(m.Source, 0) {
			return fmt.Errorf("mounts[%d]: contains a NUL byte", i)
		}
		if _, err := ParseMountOptions(m.Options); err != nil {
			return fmt.Errorf("mounts[%d].options: %w", i, err)
		}
		if len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0 {
			return fmt.Errorf("mounts[%d].uidMappings, gidMappings: id-mapped mounts are not supported", i)
		}
	}
	for i, d := range s.Linux.Devices {
		if !filepath.IsAbs(d.Path) {
			return fmt.Errorf("linux.devices[%d].path: must be absolute", i)
		}
		switch d.Type {
		case "c", "b", "u":
		case "p": // major and minor mean nothing for a fifo and are ignored
		default:
			return fmt.Errorf("linux.devices[%d].type: unknown device type %q", i, d.Type)
		}
	}
	for i, p := range s.Linux.MaskedPaths {
		if !filepath.IsAbs(p) {
			return fmt.Errorf("linux.maskedPaths[%d]: %q must be absolute", i, p)
		}
	}
	for i, p := range s.Linux.ReadonlyPaths {
		if !filepath.IsAbs(p) {
			return fmt.Errorf("linux.readonlyPaths[%d]: %q must be absolute", i, p)
		}
	}
	switch s.Linux.RootfsPropagation {
	case "", "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable":
	default:
		return fmt.Errorf("linux.rootfsPropagation: unknown propagation %q", s.Linux.RootfsPropagation)
	}
	if s.Linux.Personality != nil {
		if _, err := Personality(s.Linux.Personality); err != nil {
			return err
		}
	}
	for k := range s.Linux.Sysctl {
		if err := validateSysctl(k, ns, s); err != nil {
			return fmt.Errorf("linux.sysctl[%q]: %w", k, err)
		}
	}
	return nil
}

// ValidateProcess checks an OCI process, as given in config.json or to exec.
func ValidateProcess(p *specs.Process) error {
	if len(p.Args) == 0 && p.CommandLine == "" {
		return fmt.Errorf("process.args: required")
	}
	if p.Cwd == "" || !filepath.IsAbs(p.Cwd) {
		return fmt.Errorf("process.cwd: %q must be an absolute path", p.Cwd)
	}
	if p.OOMScoreAdj != nil && (*p.OOMScoreAdj < -1000 || *p.OOMScoreAdj > 1000) {
		return fmt.Errorf("process.oomScoreAdj: %d is outside -1000..1000", *p.OOMScoreAdj)
	}
	seen := map[string]bool{}
	for i, r := range p.Rlimits {
		if !rlimitNames[r.Type] {
			return fmt.Errorf("process.rlimits[%d].type: unknown rlimit %q", i, r.Type)
		}
		if seen[r.Type] {
			return fmt.Errorf("process.rlimits[%d].type: duplicate %s", i, r.Type)
		}
		if r.Soft > r.Hard {
			return fmt.Errorf("process.rlimits[%d]: soft limit %d exceeds hard limit %d", i, r.Soft, r.Hard)
		}
		seen[r.Type] = true
	}
	if p.ConsoleSize != nil && !p.Terminal {
		return fmt.Errorf("process.consoleSize: set without process.terminal")
	}
	if p.Capabilities != nil {
		for _, set := range [][]string{p.Capabilities.Bounding, p.Capabilities.Effective,
			p.Capabilities.Inheritable, p.Capabilities.Permitted, p.Capabilities.Ambient} {
			for _, c := range set {
				if _, err := caps.Parse(c); err != nil {
					return fmt.Errorf("process.capabilities: %w", err)
				}
			}
		}
	}
	for _, e := range p.Env {
		if !strings.Contains(e, "=") {
			return fmt.Errorf("process.env: %q is not NAME=value", e)
		}
	}
	return nil
}

func validateNamespaces(list []specs.LinuxNamespace) (map[specs.LinuxNamespaceType]bool, error) {
	seen := map[specs.LinuxNamespaceType]bool{}
	for i, n := range list {
		known := false
		for _, t := range nsOrder {
			if n.Type == t {
				known = true
			}
		}
		if !known {
			return nil, fmt.Errorf("linux.namespaces[%d].type: unknown namespace type %q", i, n.Type)
		}
		if seen[n.Type] {
			return nil, fmt.Errorf("linux.namespaces[%d].type: duplicate namespace %q", i, n.Type)
		}
		if n.Path != "" && !filepath.IsAbs(n.Path) {
			return nil, fmt.Errorf("linux.namespaces[%d].path: %q must be absolute", i, n.Path)
		}
		seen[n.Type] = true
	}
	return seen, nil
}

func nsPath(s *specs.Spec, t specs.LinuxNamespaceType) string {
	for _, n := range s.Linux.Namespaces {
		if n.Type == t {
			return n.Path
		}
	}
	return ""
}

// validateSysctl allows only namespaced sysctls, and only when the container
// has its own namespace of that kind, as runc does: anything else would
// change the host.
func validateSysctl(key string, ns map[specs.LinuxNamespaceType]bool, s *specs.Spec) error {
	if key == "" || strings.ContainsAny(key, "\x00") || strings.Contains(key, "..") {
		return fmt.Errorf("invalid sysctl name")
	}
	ipc := []string{"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
		"kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"}
	for _, k := range ipc {
		if key == k {
			if !ns[specs.IPCNamespace] {
				return fmt.Errorf("needs an ipc namespace")
			}
			return nil
		}
	}
	switch {
	case strings.HasPrefix(key, "fs.mqueue."):
		if !ns[specs.IPCNamespace] {
			return fmt.Errorf("needs an ipc namespace")
		}
		return nil
	case strings.HasPrefix(key, "net."):
		if !ns[specs.NetworkNamespace] {
			return fmt.Errorf("needs a network namespace")
		}
		return nil
	case key == "kernel.hostname" || key == "kernel.domainname":
		if !ns[specs.UTSNamespace] || nsPath(s, specs.UTSNamespace) != "" {
			return fmt.Errorf("needs a new uts namespace")
		}
		return nil
	}
	return fmt.Errorf("not a namespaced sysctl; it would change the host")
}
