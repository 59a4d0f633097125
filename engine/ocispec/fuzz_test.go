package ocispec

import (
	"bytes"
	"path"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// checkSpec is what every parsed mount must satisfy.
func checkSpec(t *testing.T, raw string, m MountSpec) {
	t.Helper()
	if !path.IsAbs(m.Target) || path.Clean(m.Target) != m.Target || m.Target == "/" {
		t.Fatalf("%q: bad target %q", raw, m.Target)
	}
	switch m.Type {
	case "bind":
		if !path.IsAbs(m.Source) || m.Propagation == "" {
			t.Fatalf("%q: bind %+v", raw, m)
		}
	case "volume":
		if m.Source != "" && (strings.Contains(m.Source, "/") || m.Source == "." || m.Source == "..") {
			t.Fatalf("%q: volume name %q could leave the volume store", raw, m.Source)
		}
	case "tmpfs":
		if m.Source != "" {
			t.Fatalf("%q: tmpfs with a source", raw)
		}
	default:
		t.Fatalf("%q: type %q", raw, m.Type)
	}
	if strings.ContainsRune(m.Source+m.Target, 0) {
		t.Fatalf("%q: NUL byte passed", raw)
	}
}

func FuzzParseBind(f *testing.F) {
	for _, s := range []string{"/ctr", "/h:/c", "/h:/c:ro,z", "vol:/c:nocopy", "./x:/c", "/h:/c:rshared,ro,cached", ":::", "a:b:c:d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		m, err := ParseBind(raw)
		if err == nil {
			checkSpec(t, raw, m)
		}
	})
}

func FuzzParseMount(f *testing.F) {
	for _, s := range []string{
		"type=bind,src=/h,dst=/c,ro,bind-propagation=rslave", "type=volume,src=v,dst=/c,volume-nocopy",
		"type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1777", `"type=bind","src=/a,b",dst=/c`, "target=/c", "type=bind,src=/h,dst=/c,bind-recursive=writable,ro",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		m, err := ParseMount(raw)
		if err == nil {
			checkSpec(t, raw, m)
		}
	})
}

func FuzzParseTmpfs(f *testing.F) {
	for _, s := range []string{"/t", "/t:size=64m,mode=1777", "/t:exec,ro,size=10%", "/t:,,", "/t:uid=1,gid=2,nr_inodes=1k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		m, err := ParseTmpfs(raw)
		if err != nil {
			return
		}
		checkSpec(t, raw, m)
		for _, o := range m.Tmpfs {
			if o == "" || strings.ContainsAny(o, ",\x00") {
				t.Fatalf("%q: option %q", raw, o)
			}
		}
	})
}

func FuzzParseSeccompProfile(f *testing.F) {
	for _, s := range []string{
		`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}`,
		`{"defaultAction":"SCMP_ACT_ALLOW","archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":["SCMP_ARCH_X86"]}],"syscalls":[{"name":"mount","action":"SCMP_ACT_ERRNO","includes":{"caps":["CAP_SYS_ADMIN"],"minKernel":"4.8"},"excludes":{"arches":["arm64"]}}]}`,
		`{"syscalls":[null]}`, `{}`, `{"defaultAction":"SCMP_ACT_KILL","syscalls":[{"names":["x"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":2,"valueTwo":3,"op":"SCMP_CMP_MASKED_EQ"}]}]}`,
	} {
		f.Add([]byte(s))
	}
	s := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: []string{"CAP_SYS_ADMIN"}}}}
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := ParseSeccompProfile(data, s)
		if err != nil || sc == nil {
			return
		}
		if sc.DefaultAction != "" && !seccompActions[sc.DefaultAction] {
			t.Fatalf("default action %q passed", sc.DefaultAction)
		}
		for _, r := range sc.Syscalls {
			if !seccompActions[r.Action] {
				t.Fatalf("action %q passed", r.Action)
			}
		}
	})
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"512m", "1.5g", "1 KiB", "-1", "1e3", "12x", "9999999999999p"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := ParseSize(s); err == nil && n < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
	})
}

// FuzzParsePasswd feeds arbitrary passwd and group files to the user
// resolution (the image controls both).
func FuzzParsePasswd(f *testing.F) {
	f.Add([]byte(testPasswd), []byte(testGroup), "app")
	f.Add([]byte("a:x:1:2\n#c\n\n:::\nb"), []byte("g:x:5:a,,b\n"), "a:g")
	f.Fuzz(func(t *testing.T, passwd, group []byte, spec string) {
		var out []passwdEntry
		_, err := parsePasswd(bytes.NewReader(passwd), func(e passwdEntry) bool { out = append(out, e); return true })
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parseGroup(bytes.NewReader(group), func(groupEntry) bool { return true }); err != nil {
			t.Fatal(err)
		}
		for _, e := range out {
			if strings.ContainsAny(e.Name, ":\n") {
				t.Fatalf("name %q", e.Name)
			}
		}
	})
}

func FuzzParseUlimit(f *testing.F) {
	for _, s := range []string{"nofile=1024:2048", "core=-1", "nproc=1:-1", "x=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseUlimit(s)
		if err == nil && r.Soft > r.Hard {
			t.Fatalf("%q: soft %d > hard %d", s, r.Soft, r.Hard)
		}
	})
}
