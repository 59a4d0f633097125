package ocispec

import (
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// securityOpts are the parsed --security-opt values.
type securityOpts struct {
	// seccomp is "" (Docker's default profile), "unconfined", or a
	// profile file's content.
	seccomp        string
	seccompProfile []byte
	noNewPrivs     bool
	apparmor       string
	labels         []string
	// systemPaths unconfined drops the masked and read-only paths.
	systemPathsUnconfined bool
}

// parseSecurityOpts parses --security-opt values as Docker's CLI and
// daemon do: seccomp=unconfined|builtin|FILE, no-new-privileges[=bool]
// (":" is accepted in place of "=" as Docker's deprecated form),
// apparmor=PROFILE, label=disable|user:U|role:R|type:T|level:L|filetype:T|nested,
// systempaths=unconfined.
func parseSecurityOpts(list []string) (securityOpts, error) {
	var so securityOpts
	for _, opt := range list {
		bad := func(why string) (securityOpts, error) {
			return securityOpts{}, fmt.Errorf("--security-opt %q: %s", opt, why)
		}
		switch opt {
		case "no-new-privileges":
			so.noNewPrivs = true
			continue
		case "disable":
			so.labels = append(so.labels, "disable")
			continue
		}
		var k, v string
		var ok bool
		if strings.Contains(opt, "=") {
			k, v, ok = strings.Cut(opt, "=")
		} else {
			k, v, ok = strings.Cut(opt, ":")
		}
		if !ok {
			return bad("invalid option (want KEY=VALUE)")
		}
		switch k {
		case "seccomp":
			switch v {
			case "unconfined", "builtin":
				so.seccomp, so.seccompProfile = v, nil
			case "":
				return bad("empty seccomp profile")
			default:
				b, err := readProfile(v)
				if err != nil {
					return securityOpts{}, fmt.Errorf("--security-opt %s: %w", opt, err)
				}
				so.seccomp, so.seccompProfile = v, b
			}
		case "no-new-privileges":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return bad("invalid value (want true or false)")
			}
			so.noNewPrivs = b
		case "apparmor":
			if v == "" || strings.ContainsAny(v, "\x00\n") {
				return bad("invalid AppArmor profile name")
			}
			so.apparmor = v
		case "label":
			if err := validLabel(v); err != nil {
				return bad(err.Error())
			}
			so.labels = append(so.labels, v)
		case "systempaths":
			if v != "unconfined" {
				return bad("systempaths takes only unconfined")
			}
			so.systemPathsUnconfined = true
		default:
			return bad("unknown option")
		}
	}
	return so, nil
}

// validLabel checks one label= value.
func validLabel(v string) error {
	if v == "disable" || v == "nested" {
		return nil
	}
	k, val, ok := strings.Cut(v, ":")
	if !ok || val == "" || strings.ContainsAny(val, "\x00\n") {
		return fmt.Errorf("invalid label %q (want disable, nested or user:, role:, type:, level:, filetype: VALUE)", v)
	}
	switch k {
	case "user", "role", "type", "level", "filetype":
		return nil
	}
	return fmt.Errorf("invalid label %q: unknown field %q", v, k)
}

// selinuxLabels composes the process and mount labels from label= parts
// over the container defaults (system_u:system_r:container_t:s0 and
// container_file_t). berth does not allocate MCS categories, and hosts
// without SELinux ignore these labels (berth-runtime accepts them, as runc).
func selinuxLabels(labels []string) (process, mount string) {
	user, role, typ, level, ftype := "system_u", "system_r", "container_t", "s0", "container_file_t"
	set := false
	for _, l := range labels {
		if l == "disable" {
			return "", ""
		}
		k, v, _ := strings.Cut(l, ":")
		switch k {
		case "user":
			user, set = v, true
		case "role":
			role, set = v, true
		case "type":
			typ, set = v, true
		case "level":
			level, set = v, true
		case "filetype":
			ftype, set = v, true
		}
	}
	if !set {
		return "", ""
	}
	return user + ":" + role + ":" + typ + ":" + level, "system_u:object_r:" + ftype + ":" + level
}

// confine applies the capability set, the seccomp filter, no_new_privs,
// the LSM labels, --privileged and systempaths to s. Capabilities come
// first: Docker's seccomp profile depends on the bounding set.
func confine(o *Options, s *specs.Spec, so securityOpts, defaultCaps []string) error {
	set, err := capabilities(defaultCaps, o.CapAdd, o.CapDrop, o.Privileged)
	if err != nil {
		return err
	}
	setCapabilities(s.Process, set)
	s.Process.NoNewPrivileges = so.noNewPrivs
	s.Process.ApparmorProfile = so.apparmor
	s.Process.SelinuxLabel, s.Linux.MountLabel = selinuxLabels(so.labels)

	switch {
	case o.Privileged || so.seccomp == "unconfined":
		// A profile file given with --privileged was still read and
		// checked above (the user learns of a bad file), then dropped,
		// as Docker does.
		if so.seccompProfile != nil {
			if _, err := ParseSeccompProfile(so.seccompProfile, s); err != nil {
				return fmt.Errorf("--security-opt seccomp=%s: %w", so.seccomp, err)
			}
		}
		s.Linux.Seccomp = nil
	case so.seccompProfile != nil:
		sc, err := ParseSeccompProfile(so.seccompProfile, s)
		if err != nil {
			return fmt.Errorf("--security-opt seccomp=%s: %w", so.seccomp, err)
		}
		s.Linux.Seccomp = sc
	default:
		sc, err := defaultSeccomp(s)
		if err != nil {
			return err
		}
		s.Linux.Seccomp = sc
	}

	if o.Privileged || so.systemPathsUnconfined {
		s.Linux.MaskedPaths = nil
		s.Linux.ReadonlyPaths = nil
	}
	if o.Privileged {
		for i := range s.Mounts {
			if s.Mounts[i].Destination == "/sys" || s.Mounts[i].Type == "cgroup" {
				s.Mounts[i].Options = clearReadOnly(s.Mounts[i].Options)
			}
		}
	}
	return nil
}

// clearReadOnly removes "ro" from mount options.
func clearReadOnly(opts []string) []string {
	var out []string
	for _, o := range opts {
		if o != "ro" {
			out = append(out, o)
		}
	}
	return out
}
