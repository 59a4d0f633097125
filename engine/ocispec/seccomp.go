package ocispec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// maxProfile bounds a seccomp profile file (Docker's default is ~25 KiB).
const maxProfile = 4 << 20

// seccompActions are the actions the runtime-spec (and libseccomp) know.
var seccompActions = map[specs.LinuxSeccompAction]bool{
	specs.ActKill: true, specs.ActKillProcess: true, specs.ActKillThread: true,
	specs.ActTrap: true, specs.ActErrno: true, specs.ActTrace: true,
	specs.ActAllow: true, specs.ActLog: true, specs.ActNotify: true,
}

// seccompOps are the argument comparison operators.
var seccompOps = map[specs.LinuxSeccompOperator]bool{
	specs.OpNotEqual: true, specs.OpLessThan: true, specs.OpLessEqual: true,
	specs.OpEqualTo: true, specs.OpGreaterEqual: true, specs.OpGreaterThan: true,
	specs.OpMaskedEqual: true,
}

// ParseSeccompProfile parses a seccomp profile in Docker's format
// ("defaultAction", "archMap", "syscalls" with "names", "action",
// "args", "includes"/"excludes") or the OCI linux.seccomp shape, and
// returns the OCI filter for this host's architecture, s's capabilities
// (s.Process.Capabilities.Bounding) and the running kernel, as Docker's
// daemon does. A profile with neither a default action nor rules means no
// filter (nil), as in Docker.
func ParseSeccompProfile(data []byte, s *specs.Spec) (*specs.LinuxSeccomp, error) {
	if err := checkProfile(data); err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	// moby's code reads the bounding set; give it an empty one if none.
	rs := specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{}}}
	if s != nil && s.Process != nil && s.Process.Capabilities != nil {
		rs.Process.Capabilities = s.Process.Capabilities
	}
	sc, err := mobyseccomp.LoadProfile(string(data), &rs)
	if err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	return sc, nil
}

// checkProfile refuses what moby's loader would crash on (a null rule) or
// pass through for the runtime to refuse later (an unknown action or
// operator, a rule without a syscall name, trailing data).
func checkProfile(data []byte) error {
	var p struct {
		DefaultAction specs.LinuxSeccompAction `json:"defaultAction"`
		Syscalls      []*struct {
			Name   string                   `json:"name"`
			Names  []string                 `json:"names"`
			Action specs.LinuxSeccompAction `json:"action"`
			Args   []*specs.LinuxSeccompArg `json:"args"`
		} `json:"syscalls"`
	}
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '{' {
		return errors.New("not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("invalid JSON: data after the profile")
	}
	if p.DefaultAction != "" && !seccompActions[p.DefaultAction] {
		return fmt.Errorf("defaultAction: unknown action %q", p.DefaultAction)
	}
	for i, sc := range p.Syscalls {
		if sc == nil {
			return fmt.Errorf("syscalls[%d]: null", i)
		}
		if sc.Name == "" && len(sc.Names) == 0 {
			return fmt.Errorf("syscalls[%d]: no syscall name", i)
		}
		if !seccompActions[sc.Action] {
			return fmt.Errorf("syscalls[%d].action: unknown action %q", i, sc.Action)
		}
		for j, a := range sc.Args {
			if a == nil {
				return fmt.Errorf("syscalls[%d].args[%d]: null", i, j)
			}
			if !seccompOps[a.Op] {
				return fmt.Errorf("syscalls[%d].args[%d].op: unknown operator %q", i, j, a.Op)
			}
		}
	}
	return nil
}

// readProfile reads a seccomp profile file named by --security-opt.
func readProfile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening seccomp profile (%s) failed: %w", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxProfile+1))
	if err != nil {
		return nil, fmt.Errorf("reading seccomp profile (%s) failed: %w", path, err)
	}
	if len(b) > maxProfile {
		return nil, fmt.Errorf("seccomp profile (%s): larger than %d bytes", path, maxProfile)
	}
	return b, nil
}
