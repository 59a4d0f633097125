package ocispec

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseBind(t *testing.T) {
	cwd, _ := os.Getwd()
	for _, c := range []struct {
		in   string
		want MountSpec
	}{
		{"/ctr", MountSpec{Type: "volume", Target: "/ctr"}},
		{"/h:/c", MountSpec{Type: "bind", Source: "/h", Target: "/c", Propagation: "rprivate", CreateSource: true}},
		{"/h/../x/:/c/d/:ro", MountSpec{Type: "bind", Source: "/x", Target: "/c/d", ReadOnly: true, Propagation: "rprivate", CreateSource: true}},
		{"/h:/c:rw,z", MountSpec{Type: "bind", Source: "/h", Target: "/c", Propagation: "rprivate", CreateSource: true}},
		{"/h:/c:Z,ro,rshared", MountSpec{Type: "bind", Source: "/h", Target: "/c", ReadOnly: true, Propagation: "rshared", CreateSource: true}},
		{"/h:/c:slave,cached", MountSpec{Type: "bind", Source: "/h", Target: "/c", Propagation: "slave", CreateSource: true}},
		{"data:/c", MountSpec{Type: "volume", Source: "data", Target: "/c"}},
		{"data:/c:ro,nocopy", MountSpec{Type: "volume", Source: "data", Target: "/c", ReadOnly: true, NoCopy: true}},
		{"./sub:/c", MountSpec{Type: "bind", Source: filepath.Join(cwd, "sub"), Target: "/c", Propagation: "rprivate", CreateSource: true}},
		{".:/c", MountSpec{Type: "bind", Source: cwd, Target: "/c", Propagation: "rprivate", CreateSource: true}},
	} {
		got, err := ParseBind(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseBind(%q) = %+v, %v\nwant %+v", c.in, got, err, c.want)
		}
	}
	for in, msg := range map[string]string{
		"":                   "invalid volume specification: ''",
		":/c":                "invalid volume specification",
		"/c:ro":              "invalid volume specification: '/c:ro'",
		"/h:/c:ro:x":         "invalid volume specification",
		"/h:/c:bogus":        "invalid mode: bogus",
		"/h:/c:ro,rw":        "invalid mode",
		"/h:/c:z,Z":          "invalid mode",
		"/h:/c:shared,slave": "invalid mode",
		"/h:rel":             "mount path must be absolute",
		"/h:/":               "destination can't be '/'",
		"/h:/..":             "destination can't be '/'",
		"/h:/c:nocopy":       "VolumeOptions",
		"v:/c:rshared":       "BindOptions",
		"../up:/c":           "invalid characters for a local volume name",
		"a:/c":               "invalid characters for a local volume name",
		"bad name!:/c":       "invalid characters",
		"/h\x00:/c":          "NUL",
	} {
		_, err := ParseBind(in)
		wantErr(t, err, msg)
	}
}

func TestParseMount(t *testing.T) {
	for _, c := range []struct {
		in   string
		want MountSpec
	}{
		{"type=bind,source=/h,target=/c", MountSpec{Type: "bind", Source: "/h", Target: "/c", Propagation: "rprivate"}},
		{"type=bind,src=/h,dst=/c,readonly", MountSpec{Type: "bind", Source: "/h", Target: "/c", ReadOnly: true, Propagation: "rprivate"}},
		{"type=bind,src=/h,destination=/c,ro=true,bind-propagation=rslave", MountSpec{Type: "bind", Source: "/h", Target: "/c", ReadOnly: true, Propagation: "rslave"}},
		{"type=bind,src=/h,dst=/c,ro=0", MountSpec{Type: "bind", Source: "/h", Target: "/c", Propagation: "rprivate"}},
		{"type=bind,src=/h,dst=/c,bind-recursive=disabled", MountSpec{Type: "bind", Source: "/h", Target: "/c", Propagation: "rprivate", NonRecursive: true}},
		{"type=bind,src=/h,dst=/c,ro,bind-recursive=writable", MountSpec{Type: "bind", Source: "/h", Target: "/c", ReadOnly: true, Propagation: "rprivate", ReadOnlyNonRecursive: true}},
		{"TYPE=bind,Source=/h,Target=/c,bind-nonrecursive", MountSpec{Type: "bind", Source: "/h", Target: "/c", Propagation: "rprivate", NonRecursive: true}},
		{`type=bind,"source=/h,with,commas",target=/c`, MountSpec{Type: "bind", Source: "/h,with,commas", Target: "/c", Propagation: "rprivate"}},
		{"target=/c", MountSpec{Type: "volume", Target: "/c"}},
		{"type=volume,source=data,target=/c,ro,volume-nocopy", MountSpec{Type: "volume", Source: "data", Target: "/c", ReadOnly: true, NoCopy: true}},
		{"type=volume,src=data,dst=/c,volume-driver=local", MountSpec{Type: "volume", Source: "data", Target: "/c"}},
		{"type=tmpfs,target=/t", MountSpec{Type: "tmpfs", Target: "/t", Tmpfs: []string{"noexec", "nosuid", "nodev", "rprivate"}}},
		{"type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1770,readonly", MountSpec{Type: "tmpfs", Target: "/t", ReadOnly: true,
			Tmpfs: []string{"noexec", "nosuid", "nodev", "rprivate", "ro", "mode=1770", "size=64m"}}},
		{"type=tmpfs,dst=/t,tmpfs-size=1000", MountSpec{Type: "tmpfs", Target: "/t", Tmpfs: []string{"noexec", "nosuid", "nodev", "rprivate", "size=1000"}}},
	} {
		got, err := ParseMount(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseMount(%q) = %+v, %v\nwant %+v", c.in, got, err, c.want)
		}
	}
	for in, msg := range map[string]string{
		"":                                                "--mount",
		"type=bind,source=/h":                             "target is required",
		"type=bind,target=/c":                             "field Source must not be empty",
		"type=bind,source=rel/h,target=/c":                `invalid mount config for type "bind": invalid mount path: 'rel/h' mount path must be absolute`,
		"type=bind,source=/h,target=rel":                  "mount path must be absolute",
		"type=bind,source=/h,target=/":                    "destination can't be '/'",
		"type=bind,src=/h,dst=/c,bogus=1":                 "unexpected key 'bogus'",
		"type=bind,src=/h,dst=/c,flag":                    "invalid field 'flag' must be a key=value pair",
		"type=bind,src=/h,dst=/c,ro=maybe":                "invalid value for ro: maybe",
		"type=bind,src=/h,dst=/c,bind-propagation=weird":  "invalid propagation mode: weird",
		"type=bind,src=/h,dst=/c,bind-recursive=readonly": "requires 'readonly'",
		"type=bind,src=/h,dst=/c,volume-nocopy":           "cannot mix 'volume-*' options with mount type 'bind'",
		"type=volume,dst=/c,bind-propagation=shared":      "cannot mix 'bind-*' options",
		"type=volume,dst=/c,tmpfs-size=1m":                "cannot mix 'tmpfs-*' options",
		"type=volume,dst=/c,readonly":                     "must not set ReadOnly mode when using anonymous volumes",
		"type=volume,src=data,dst=/c,volume-opt=type=nfs": "volume-opt is not supported",
		"type=volume,src=data,dst=/c,volume-driver=nfs":   "only the local volume driver",
		"type=volume,src=../x,dst=/c":                     "invalid characters",
		"type=tmpfs,src=x,dst=/t":                         "field Source must not be specified",
		"type=tmpfs,dst=/t,tmpfs-size=12x":                "invalid value for tmpfs-size: 12x",
		"type=tmpfs,dst=/t,tmpfs-mode=999":                "invalid value for tmpfs-mode: 999",
		"type=nfs,dst=/t":                                 `invalid mount config for type "nfs": mount type unknown`,
		`type=bind,"src=/h,dst=/c`:                        "invalid CSV",
		"type=bind,src=/h,dst=/c\ntype=tmpfs":             "single line",
	} {
		_, err := ParseMount(in)
		wantErr(t, err, msg)
	}
}

func TestParseTmpfs(t *testing.T) {
	for in, want := range map[string][]string{
		"/t":                             {"noexec", "nosuid", "nodev", "rprivate"},
		"/t:size=64m":                    {"noexec", "nosuid", "nodev", "rprivate", "size=64m"},
		"/t:exec,mode=1777,size=10%":     {"nosuid", "nodev", "rprivate", "exec", "mode=1777", "size=10%"},
		"/t:size=1m,size=2m":             {"noexec", "nosuid", "nodev", "rprivate", "size=2m"},
		"/t:ro,uid=1000,gid=1000,shared": {"noexec", "nosuid", "nodev", "ro", "uid=1000", "gid=1000", "shared"},
		"/t:defaults,nr_inodes=1k":       {"noexec", "nosuid", "nodev", "rprivate", "nr_inodes=1k"},
	} {
		m, err := ParseTmpfs(in)
		if err != nil || !equal(m.Tmpfs, want) || m.Type != "tmpfs" || m.Target != "/t" {
			t.Errorf("ParseTmpfs(%q) = %+v, %v; want options %q", in, m, err, want)
		}
	}
	for in, msg := range map[string]string{
		"rel":         "mount path must be absolute",
		"/":           "destination can't be '/'",
		"":            "field Target must not be empty",
		"/t:size=12x": `invalid tmpfs option "size=12x"`,
		"/t:size=0%":  "invalid tmpfs option",
		"/t:mode=999": `invalid tmpfs option "mode=999"`,
		"/t:uid=me":   "invalid tmpfs option",
		"/t:bogus":    `invalid tmpfs option "bogus"`,
		"/t:bind":     `invalid tmpfs option "bind"`,
		"/t:foo=bar":  "unknown option",
	} {
		_, err := ParseTmpfs(in)
		wantErr(t, err, "--tmpfs", msg)
	}
}
