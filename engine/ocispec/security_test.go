package ocispec

import (
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

var dockerDefaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

func TestCapabilities(t *testing.T) {
	all := allCaps()
	for _, c := range []struct {
		name      string
		add, drop []string
		want      []string
	}{
		{name: "defaults", want: dockerDefaultCaps},
		{name: "drop one add one", add: []string{"sys_admin"}, drop: []string{"CAP_CHOWN", "net_raw"},
			want: append(append([]string{"CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD"}, dockerDefaultCaps[6:]...), "CAP_SYS_ADMIN")},
		{name: "drop all add some", add: []string{"NET_BIND_SERVICE", "CAP_KILL"}, drop: []string{"ALL"}, want: []string{"CAP_NET_BIND_SERVICE", "CAP_KILL"}},
		{name: "drop all", drop: []string{"all"}, want: nil},
		{name: "add a default again", add: []string{"CHOWN"}, want: dockerDefaultCaps},
	} {
		got, err := capabilities(dockerDefaultCaps, c.add, c.drop, false)
		if err != nil || !equal(got, c.want) {
			t.Errorf("%s: %q, %v\nwant %q", c.name, got, err, c.want)
		}
	}
	got, err := capabilities(dockerDefaultCaps, []string{"ALL"}, []string{"SYS_ADMIN"}, false)
	if err != nil || len(got) != len(all)-1 || contains(got, "CAP_SYS_ADMIN") {
		t.Errorf("add ALL drop SYS_ADMIN: %q, %v", got, err)
	}
	got, err = capabilities(dockerDefaultCaps, nil, []string{"ALL"}, true)
	if err != nil || !equal(got, all) {
		t.Errorf("privileged: %q, %v", got, err)
	}
	_, err = capabilities(dockerDefaultCaps, []string{"CAP_NOPE"}, nil, false)
	wantErr(t, err, "--cap-add CAP_NOPE", "unknown capability")
	_, err = capabilities(dockerDefaultCaps, nil, []string{"cap_ſys_admin"}, false)
	wantErr(t, err, "--cap-drop", "unknown capability")
}

// TestSeccompFollowsCaps: Docker's default profile allows mount(2) only
// with CAP_SYS_ADMIN in the bounding set.
func TestSeccompFollowsCaps(t *testing.T) {
	allowed := func(s *specs.Spec, name string) bool {
		for _, r := range s.Linux.Seccomp.Syscalls {
			if r.Action == specs.ActAllow && contains(r.Names, name) && len(r.Args) == 0 {
				return true
			}
		}
		return false
	}
	o := testOptions(t)
	s := mustBuild(t, o)
	if s.Linux.Seccomp == nil || allowed(s, "mount") {
		t.Fatal("default profile missing or allows mount")
	}
	o.CapAdd = []string{"SYS_ADMIN"}
	s = mustBuild(t, o)
	if !allowed(s, "mount") {
		t.Error("--cap-add SYS_ADMIN: the profile does not allow mount")
	}
}

func TestPrivileged(t *testing.T) {
	o := testOptions(t)
	o.Privileged = true
	o.ReadOnly = true
	o.CapDrop = []string{"ALL"}
	s := mustBuild(t, o)
	if !equal(s.Process.Capabilities.Bounding, allCaps()) || !equal(s.Process.Capabilities.Effective, allCaps()) {
		t.Errorf("privileged capabilities: %+v", s.Process.Capabilities)
	}
	if s.Linux.Seccomp != nil || len(s.Linux.MaskedPaths) > 0 || len(s.Linux.ReadonlyPaths) > 0 {
		t.Error("privileged: seccomp or masked/read-only paths kept")
	}
	for _, m := range s.Mounts {
		if (m.Destination == "/sys" || m.Type == "cgroup") && hasOption(m.Options, "ro") {
			t.Errorf("privileged: %s is read-only", m.Destination)
		}
	}
	r := s.Linux.Resources.Devices
	if len(r) != 1 || !r[0].Allow || r[0].Access != "rwm" || r[0].Type != "" {
		t.Errorf("privileged device rules %+v", r)
	}
	found := false
	for _, d := range s.Linux.Devices {
		if d.Path == "/dev/null" && d.Type == "c" && d.Major == 1 && d.Minor == 3 {
			found = true
		}
		if d.Path == "/dev/console" {
			t.Error("privileged: the host's console is passed")
		}
	}
	if !found {
		t.Errorf("privileged: host devices not added (%d devices)", len(s.Linux.Devices))
	}
	if s.Process.NoNewPrivileges {
		t.Error("privileged: noNewPrivileges set")
	}
}

func TestSecurityOpts(t *testing.T) {
	profile := writeFile(t, t.TempDir(), "p.json", `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","write","exit_group"],"action":"SCMP_ACT_ALLOW"}]}`)
	for _, c := range []struct {
		opts  []string
		check func(*specs.Spec) bool
	}{
		{[]string{"no-new-privileges"}, func(s *specs.Spec) bool { return s.Process.NoNewPrivileges }},
		{[]string{"no-new-privileges=true"}, func(s *specs.Spec) bool { return s.Process.NoNewPrivileges }},
		{[]string{"no-new-privileges:true"}, func(s *specs.Spec) bool { return s.Process.NoNewPrivileges }},
		{[]string{"no-new-privileges", "no-new-privileges=false"}, func(s *specs.Spec) bool { return !s.Process.NoNewPrivileges }},
		{[]string{"seccomp=unconfined"}, func(s *specs.Spec) bool { return s.Linux.Seccomp == nil }},
		{[]string{"seccomp:unconfined"}, func(s *specs.Spec) bool { return s.Linux.Seccomp == nil }},
		{[]string{"seccomp=builtin"}, func(s *specs.Spec) bool { return s.Linux.Seccomp != nil && len(s.Linux.Seccomp.Syscalls) > 10 }},
		{[]string{"seccomp=" + profile}, func(s *specs.Spec) bool {
			sc := s.Linux.Seccomp
			return sc != nil && sc.DefaultAction == specs.ActErrno && len(sc.Syscalls) == 1 && equal(sc.Syscalls[0].Names, []string{"read", "write", "exit_group"})
		}},
		{[]string{"apparmor=my-profile"}, func(s *specs.Spec) bool { return s.Process.ApparmorProfile == "my-profile" }},
		{[]string{"label=type:svirt_t", "label=level:s0:c1,c2"}, func(s *specs.Spec) bool {
			return s.Process.SelinuxLabel == "system_u:system_r:svirt_t:s0:c1,c2" && s.Linux.MountLabel == "system_u:object_r:container_file_t:s0:c1,c2"
		}},
		{[]string{"label=disable"}, func(s *specs.Spec) bool { return s.Process.SelinuxLabel == "" }},
		{[]string{"label:disable"}, func(s *specs.Spec) bool { return s.Process.SelinuxLabel == "" }},
		{[]string{"systempaths=unconfined"}, func(s *specs.Spec) bool {
			return len(s.Linux.MaskedPaths) == 0 && len(s.Linux.ReadonlyPaths) == 0 && s.Linux.Seccomp != nil
		}},
	} {
		o := testOptions(t)
		o.SecurityOpt = c.opts
		s := mustBuild(t, o)
		if !c.check(s) {
			t.Errorf("--security-opt %q: unexpected spec (nnp %v, seccomp %v, apparmor %q, selinux %q)", c.opts,
				s.Process.NoNewPrivileges, s.Linux.Seccomp != nil, s.Process.ApparmorProfile, s.Process.SelinuxLabel)
		}
	}
	// With --privileged a profile is read and checked, then not applied.
	o := testOptions(t)
	o.Privileged = true
	o.SecurityOpt = []string{"seccomp=" + profile}
	if s := mustBuild(t, o); s.Linux.Seccomp != nil {
		t.Error("privileged with a profile: seccomp applied (Docker does not)")
	}

	bad := writeFile(t, t.TempDir(), "bad.json", `{"defaultAction":"SCMP_ACT_FOO"}`)
	for opt, msg := range map[string]string{
		"bogus":                   "invalid option",
		"nonsense=1":              "unknown option",
		"no-new-privileges=maybe": "invalid value",
		"seccomp=":                "empty seccomp profile",
		"seccomp=/nonexistent/berth-profile.json": "opening seccomp profile (/nonexistent/berth-profile.json) failed",
		"seccomp=" + bad:       `defaultAction: unknown action "SCMP_ACT_FOO"`,
		"apparmor=":            "invalid AppArmor profile",
		"label=bogus":          "invalid label",
		"label=color:red":      `unknown field "color"`,
		"label=user:":          "invalid label",
		"systempaths=confined": "systempaths takes only unconfined",
	} {
		o := testOptions(t)
		o.SecurityOpt = []string{opt}
		_, err := Build(o)
		wantErr(t, err, "--security-opt", msg)
	}
}

func TestParseSeccompProfile(t *testing.T) {
	caps := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: []string{"CAP_SYS_ADMIN"}}}}
	// Docker's format with includes/excludes, "name" and archMap.
	docker := `{
	  "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
	  "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
	              {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
	  "syscalls": [
	    {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
	    {"name": "mount", "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
	    {"names": ["reboot"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_BOOT"]}},
	    {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
	    {"names": ["chmod"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}}
	  ]}`
	sc, err := ParseSeccompProfile([]byte(docker), caps)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range sc.Syscalls {
		names = append(names, r.Names...)
	}
	if !equal(names, []string{"read", "mount", "personality"}) || sc.DefaultErrnoRet == nil || *sc.DefaultErrnoRet != 1 {
		t.Errorf("Docker profile: rules %q errnoRet %v", names, sc.DefaultErrnoRet)
	}
	// The OCI shape.
	oci := `{"defaultAction":"SCMP_ACT_KILL_PROCESS","architectures":["SCMP_ARCH_X86_64"],"flags":["SECCOMP_FILTER_FLAG_LOG"],
	  "syscalls":[{"names":["getpid"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]}`
	sc, err = ParseSeccompProfile([]byte(oci), nil)
	if err != nil || sc.DefaultAction != specs.ActKillProcess || len(sc.Architectures) != 1 || *sc.Syscalls[0].ErrnoRet != 38 {
		t.Errorf("OCI profile: %+v, %v", sc, err)
	}
	// Empty means no filter, as Docker.
	if sc, err := ParseSeccompProfile([]byte(`{}`), nil); err != nil || sc != nil {
		t.Errorf("empty profile: %+v, %v", sc, err)
	}
	for in, msg := range map[string]string{
		``:                    "not a JSON object",
		`null`:                "not a JSON object",
		`[]`:                  "not a JSON object",
		`{"defaultAction":`:   "invalid JSON",
		`{} {}`:               "data after the profile",
		`{"syscalls":[null]}`: "syscalls[0]: null",
		`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"action":"SCMP_ACT_ERRNO"}]}`:                                                 "syscalls[0]: no syscall name",
		`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["x"],"action":"NOPE"}]}`:                                             `syscalls[0].action: unknown action "NOPE"`,
		`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["x"],"action":"SCMP_ACT_ERRNO","args":[null]}]}`:                     "args[0]: null",
		`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["x"],"action":"SCMP_ACT_ERRNO","args":[{"op":"LT"}]}]}`:              "unknown operator",
		`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"x","names":["y"],"action":"SCMP_ACT_ERRNO"}]}`:                        "both 'name' and 'names'",
		`{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"archMap":[{"architecture":"SCMP_ARCH_X86_64"}]}`:     "both 'architectures' and 'archMap'",
		`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["x"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"banana"}}]}`: "seccomp profile",
	} {
		_, err := ParseSeccompProfile([]byte(in), caps)
		wantErr(t, err, "seccomp profile", msg)
	}
}

func TestReadProfileLimit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "huge.json")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(maxProfile + 10); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = readProfile(p)
	wantErr(t, err, "larger than")
}
