package lsm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// attrDir makes a fake /proc/thread-self/attr with the given files.
func attrDir(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExecAttrsIgnoredWithoutModule(t *testing.T) {
	dir := attrDir(t, "exec", "apparmor/exec")
	if err := (Host{}).ExecAttrs(dir, "docker-default", "system_u:system_r:container_t:s0"); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(dir, "exec")) + read(t, filepath.Join(dir, "apparmor/exec")); got != "" {
		t.Errorf("labels written for modules the host lacks: %q", got)
	}
}

func TestExecAttrsAppArmor(t *testing.T) {
	dir := attrDir(t, "exec", "apparmor/exec")
	if err := (Host{AppArmor: true}).ExecAttrs(dir, "docker-default", "ignored"); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(dir, "apparmor/exec")); got != "exec docker-default" {
		t.Errorf("apparmor/exec = %q", got)
	}
	if got := read(t, filepath.Join(dir, "exec")); got != "" {
		t.Errorf("the SELinux label was written on an AppArmor host: %q", got)
	}
	// An old kernel has only the shared attr file.
	old := attrDir(t, "exec")
	if err := (Host{AppArmor: true}).ExecAttrs(old, "p", ""); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(old, "exec")); got != "exec p" {
		t.Errorf("exec = %q", got)
	}
}

func TestExecAttrsSELinux(t *testing.T) {
	dir := attrDir(t, "exec")
	label := "system_u:system_r:container_t:s0:c1,c2"
	if err := (Host{SELinux: true}).ExecAttrs(dir, "", label); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(dir, "exec")); got != label {
		t.Errorf("exec = %q", got)
	}
}

// A label the host's module cannot take is an error naming the field.
func TestExecAttrsCannotApply(t *testing.T) {
	dir := t.TempDir() // no attr files: the write fails
	err := (Host{SELinux: true}).ExecAttrs(dir, "", "bad")
	if err == nil || !strings.Contains(err.Error(), "process.selinuxLabel") {
		t.Errorf("err = %v, want one naming process.selinuxLabel", err)
	}
	err = (Host{AppArmor: true}).ExecAttrs(dir, "missing", "")
	if err == nil || !strings.Contains(err.Error(), "process.apparmorProfile") {
		t.Errorf("err = %v, want one naming process.apparmorProfile", err)
	}
}

func TestMountData(t *testing.T) {
	label := "system_u:object_r:container_file_t:s0:c1,c2"
	cases := []struct {
		h               Host
		fs, data, label string
		want            string
		err             bool
	}{
		{Host{}, "tmpfs", "mode=755", label, "mode=755", false},
		{Host{SELinux: true}, "tmpfs", "mode=755", label, `mode=755,context="` + label + `"`, false},
		{Host{SELinux: true}, "devpts", "", label, `context="` + label + `"`, false},
		{Host{SELinux: true}, "bind", "", label, "", false},
		{Host{SELinux: true}, "proc", "", label, "", false},
		{Host{SELinux: true}, "tmpfs", "", "", "", false},
		{Host{SELinux: true}, "tmpfs", "", `x",size=1`, "", true},
	}
	for _, c := range cases {
		got, err := c.h.MountData(c.fs, c.data, c.label)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("%+v MountData(%q, %q, %q) = %q, %v; want %q", c.h, c.fs, c.data, c.label, got, err, c.want)
		}
	}
}
