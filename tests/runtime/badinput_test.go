package runtime_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// saveJSON writes the bundle's config after edit has changed its JSON
// form, for documents the Go types cannot express.
func (b *bundle) saveJSON(t *testing.T, edit func(m map[string]any)) string {
	t.Helper()
	data, err := json.Marshal(b.Spec)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	if data, err = json.MarshalIndent(m, "", "  "); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.Dir, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return b.Dir
}

// obj returns m[key] as an object.
func obj(m map[string]any, key string) map[string]any {
	return m[key].(map[string]any)
}

// expectFail runs berth-runtime, expects exit status 1 and every want in
// its error, and checks that container id of bundle dir left nothing.
func (e *env) expectFail(id, dir string, args []string, wants ...string) {
	e.t.Helper()
	out, stderr, code := e.run(args...)
	if code != 1 {
		e.t.Errorf("berth-runtime %s: exit %d, want 1 (stdout %q, stderr %q)", strings.Join(args, " "), code, out, stderr)
	}
	if !strings.HasPrefix(stderr, "berth-runtime: ") || strings.Count(stderr, "\n") != 1 {
		e.t.Errorf("berth-runtime %s: want a one-line error, got %q", strings.Join(args, " "), stderr)
	}
	for _, w := range wants {
		if !strings.Contains(stderr, w) {
			e.t.Errorf("berth-runtime %s: error %q does not name %q", strings.Join(args, " "), stderr, w)
		}
	}
	e.assertNothingLeft(id, dir)
}

// expectCreateFail expects create and run of the bundle to fail with every
// want in the error, leaving nothing behind.
func (e *env) expectCreateFail(dir string, wants ...string) {
	e.t.Helper()
	id := e.id()
	e.expectFail(id, dir, []string{"create", "--bundle", dir, id}, wants...)
	e.expectFail(id, dir, []string{"run", "--bundle", dir, id}, wants...)
	e.expectFail(id, dir, []string{"run", "-d", "--bundle", dir, id}, wants...)
}

func TestBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(t *testing.T, b *bundle) string // returns the bundle dir
		wants []string
	}{
		{"syntax error", func(t *testing.T, b *bundle) string {
			doc := "{\n  \"ociVersion\": \"1.2.0\",\n  \"root\": {\"path\": \"rootfs\"},,\n}\n"
			if err := os.WriteFile(filepath.Join(b.Dir, "config.json"), []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			return b.Dir
		}, []string{"config.json", "line 3, column 30"}},
		{"truncated", func(t *testing.T, b *bundle) string {
			data, _ := json.Marshal(b.Spec)
			if err := os.WriteFile(filepath.Join(b.Dir, "config.json"), data[:len(data)/2], 0o644); err != nil {
				t.Fatal(err)
			}
			return b.Dir
		}, []string{"config.json", "JSON"}},
		{"empty", func(t *testing.T, b *bundle) string {
			if err := os.WriteFile(filepath.Join(b.Dir, "config.json"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			return b.Dir
		}, []string{"config.json"}},
		{"args not a list", func(t *testing.T, b *bundle) string {
			return b.saveJSON(t, func(m map[string]any) { obj(m, "process")["args"] = "sh -c true" })
		}, []string{"process.args", "string"}},
		{"readonly not a bool", func(t *testing.T, b *bundle) string {
			return b.saveJSON(t, func(m map[string]any) { obj(m, "root")["readonly"] = "yes" })
		}, []string{"root.readonly"}},
		{"uid not a number", func(t *testing.T, b *bundle) string {
			return b.saveJSON(t, func(m map[string]any) { obj(obj(m, "process"), "user")["uid"] = "root" })
		}, []string{"process.user.uid"}},
		{"namespaces not a list", func(t *testing.T, b *bundle) string {
			return b.saveJSON(t, func(m map[string]any) { obj(m, "linux")["namespaces"] = map[string]any{"type": "pid"} })
		}, []string{"linux.namespaces"}},
		{"missing config", func(t *testing.T, b *bundle) string { return b.Dir }, []string{"config.json", "no such file"}},
		{"missing bundle", func(t *testing.T, b *bundle) string {
			return filepath.Join(b.Dir, "nowhere")
		}, []string{"nowhere", "no such file"}},
		{"missing root", func(t *testing.T, b *bundle) string {
			b.Spec.Root = nil
			return b.save(t)
		}, []string{"root.path"}},
		{"missing rootfs", func(t *testing.T, b *bundle) string {
			b.Spec.Root.Path = "no-rootfs-here"
			return b.save(t)
		}, []string{"root.path", "no-rootfs-here", "no such file"}},
		{"rootfs is a file", func(t *testing.T, b *bundle) string {
			if err := os.WriteFile(filepath.Join(b.Dir, "rootfs"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			b.Spec.Root.Path = "rootfs"
			return b.save(t)
		}, []string{"root.path", "not a directory"}},
		{"missing process", func(t *testing.T, b *bundle) string {
			b.Spec.Process = nil
			return b.save(t)
		}, []string{"process"}},
		{"missing process.args", func(t *testing.T, b *bundle) string {
			b.Spec.Process.Args = nil
			return b.save(t)
		}, []string{"process.args"}},
		{"relative cwd", func(t *testing.T, b *bundle) string {
			b.Spec.Process.Cwd = "tmp"
			return b.save(t)
		}, []string{"process.cwd"}},
		{"missing cwd", func(t *testing.T, b *bundle) string {
			b.Spec.Process.Cwd = "/no/such/dir"
			return b.save(t)
		}, []string{"process.cwd", "/no/such/dir"}},
		{"env without equals sign", func(t *testing.T, b *bundle) string {
			b.Spec.Process.Env = append(b.Spec.Process.Env, "JUSTANAME")
			return b.save(t)
		}, []string{"process.env", "JUSTANAME"}},
		{"unknown capability", func(t *testing.T, b *bundle) string {
			b.Spec.Process.Capabilities.Bounding = append(b.Spec.Process.Capabilities.Bounding, "CAP_BOGUS")
			return b.save(t)
		}, []string{"process.capabilities", "CAP_BOGUS"}},
		{"unknown rlimit", func(t *testing.T, b *bundle) string {
			b.Spec.Process.Rlimits = append(b.Spec.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_BOGUS"})
			return b.save(t)
		}, []string{"process.rlimits[1].type", "RLIMIT_BOGUS"}},
		{"program not found", func(t *testing.T, b *bundle) string {
			b.Spec.Process.Args = []string{"no-such-program"}
			return b.save(t)
		}, []string{"no-such-program", "not found"}},
		{"unknown namespace type", func(t *testing.T, b *bundle) string {
			b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: "bogus"})
			return b.save(t)
		}, []string{"linux.namespaces[6].type", "bogus"}},
		{"duplicate namespace", func(t *testing.T, b *bundle) string {
			b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: "pid"})
			return b.save(t)
		}, []string{"linux.namespaces[6]", "duplicate"}},
		{"user namespace without mappings", func(t *testing.T, b *bundle) string {
			b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: "user"})
			return b.save(t)
		}, []string{"linux.uidMappings", "user namespace"}},
		{"mappings without user namespace", func(t *testing.T, b *bundle) string {
			b.Spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
			b.Spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
			return b.save(t)
		}, []string{"linux.uidMappings", "user namespace"}},
		{"gid mappings without user namespace", func(t *testing.T, b *bundle) string {
			b.Spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
			return b.save(t)
		}, []string{"linux.gidMappings", "user namespace"}},
		{"namespace path missing", func(t *testing.T, b *bundle) string {
			b.dropNamespace(specs.NetworkNamespace)
			b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: "network", Path: "/run/netns/no-such-ns"})
			return b.save(t)
		}, []string{"linux.namespaces[5].path", "network", "/run/netns/no-such-ns", "no such file"}},
		{"namespace path of another type", func(t *testing.T, b *bundle) string {
			b.dropNamespace(specs.NetworkNamespace)
			b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: "network", Path: "/proc/self/ns/uts"})
			return b.save(t)
		}, []string{"linux.namespaces[5].path", "network", "/proc/self/ns/uts", "another type"}},
		{"namespace path not a namespace", func(t *testing.T, b *bundle) string {
			b.dropNamespace(specs.IPCNamespace)
			b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: "ipc", Path: "/etc/hostname"})
			return b.save(t)
		}, []string{"linux.namespaces[5].path", "ipc", "/etc/hostname", "not a namespace"}},
		{"relative namespace path", func(t *testing.T, b *bundle) string {
			b.dropNamespace(specs.IPCNamespace)
			b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: "ipc", Path: "ns/ipc"})
			return b.save(t)
		}, []string{"linux.namespaces[5].path", "absolute"}},
		{"masked paths without a mount namespace", func(t *testing.T, b *bundle) string {
			b.dropNamespace(specs.MountNamespace)
			return b.save(t)
		}, []string{"linux.maskedPaths", "mount namespace"}},
		{"unknown rootfs propagation", func(t *testing.T, b *bundle) string {
			b.Spec.Linux.RootfsPropagation = "sideways"
			return b.save(t)
		}, []string{"linux.rootfsPropagation", "sideways"}},
		{"mount with unknown propagation", func(t *testing.T, b *bundle) string {
			b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/mnt", Type: "tmpfs", Source: "tmpfs", Options: []string{"rsharred"}})
			return b.save(t)
		}, []string{"mounts[7]", "/mnt"}},
		{"mount of unknown type", func(t *testing.T, b *bundle) string {
			b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/mnt", Type: "nosuchfs", Source: "none"})
			return b.save(t)
		}, []string{"mounts[7]", "/mnt"}},
		{"mount without destination", func(t *testing.T, b *bundle) string {
			b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Type: "tmpfs", Source: "tmpfs"})
			return b.save(t)
		}, []string{"mounts[7].destination"}},
		{"bind mount of a missing source", func(t *testing.T, b *bundle) string {
			b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/mnt", Type: "bind", Source: "/no/such/source", Options: []string{"rbind"}})
			return b.save(t)
		}, []string{"mounts[7]", "/no/such/source"}},
		{"unknown device type", func(t *testing.T, b *bundle) string {
			b.Spec.Linux.Devices = append(b.Spec.Linux.Devices, specs.LinuxDevice{Path: "/dev/x", Type: "z"})
			return b.save(t)
		}, []string{"linux.devices[0].type"}},
		{"cgroupsPath escaping", func(t *testing.T, b *bundle) string {
			b.Spec.Linux.CgroupsPath = "/berth/../../escape"
			return b.save(t)
		}, []string{"linux.cgroupsPath", ".."}},
		{"hostname without uts namespace", func(t *testing.T, b *bundle) string {
			b.dropNamespace(specs.UTSNamespace)
			b.Spec.Hostname = "h"
			return b.save(t)
		}, []string{"hostname", "uts"}},
		{"consoleSize without terminal", func(t *testing.T, b *bundle) string {
			b.Spec.Process.ConsoleSize = &specs.Box{Height: 1, Width: 1}
			return b.save(t)
		}, []string{"process.consoleSize"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			b := newBundle(t, "true")
			dir := tc.edit(t, b)
			e.expectCreateFail(dir, tc.wants...)
		})
	}
}

func TestBadContainerID(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "true")
	dir := b.save(t)
	for _, id := range []string{"", "a/b", "..", ".", "x y", "../escape", "x\n", strings.Repeat("x", 300)} {
		for _, args := range [][]string{
			{"create", "--bundle", dir, "--", id},
			{"run", "--bundle", dir, "--", id},
			{"state", "--", id},
			{"start", "--", id},
			{"kill", "--", id},
			{"delete", "--", id},
			{"delete", "--force", "--", id},
			{"ps", "--", id},
			{"exec", "--", id, "true"},
		} {
			_, stderr, code := e.run(args...)
			if code != 1 || !strings.Contains(stderr, "container id") {
				t.Errorf("%s with id %q: code %d, stderr %q", args[0], id, code, stderr)
			}
		}
		// Ids like "" and ".." name the root itself: check it is empty.
		if ents, _ := os.ReadDir(e.root); len(ents) > 0 {
			t.Errorf("id %q left %v in the state root", id, ents)
		}
		if !strings.ContainsAny(id, "/.") && id != "" {
			cgroupGone(t, id)
		}
		if ids := e.listIDs(); len(ids) > 0 {
			t.Errorf("id %q: list shows %v", id, ids)
		}
		if pids := initProcessesIn(dir); len(pids) > 0 {
			t.Errorf("id %q left init processes %v", id, pids)
		}
	}
	// Nothing may be created outside the root by a path-like id.
	if _, err := os.Stat(filepath.Join(filepath.Dir(e.root), "escape")); err == nil {
		t.Errorf("an id escaped the state root")
	}
}

func TestDuplicateID(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sleep", "60")
	id := e.create(b)
	pid := e.pid(id)
	other := newBundle(t, "sleep", "61")
	dir := other.save(t)
	for _, args := range [][]string{
		{"create", "--bundle", dir, id},
		{"run", "--bundle", dir, id},
		{"run", "-d", "--bundle", dir, id},
	} {
		_, stderr, code := e.run(args...)
		if code != 1 || !strings.Contains(stderr, id) || !strings.Contains(stderr, "already exists") {
			t.Errorf("%s of an existing id: code %d, stderr %q", args[0], code, stderr)
		}
	}
	// The first container is untouched.
	st := e.state(id)
	if st["status"] != "created" || e.pid(id) != pid || st["bundle"] != b.Dir {
		t.Fatalf("the failed creates hurt the container: %v", st)
	}
	if pids := initProcessesIn(dir); len(pids) > 0 {
		t.Errorf("the failed creates left init processes %v", pids)
	}
	e.mustRun("start", id)
	e.waitStatus(id, "running")
	e.mustRun("delete", "--force", id)
	e.assertNothingLeft(id, b.Dir)
}

func TestBadFlags(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "true")
	dir := b.save(t)
	id := e.id()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"create", "--bundle", dir}, "arg"},
		{[]string{"create", "--bundle", dir, id, "extra"}, "arg"},
		{[]string{"create", "--no-such-flag", "--bundle", dir, id}, "no-such-flag"},
		{[]string{"create", "--preserve-fds", "x", "--bundle", dir, id}, "preserve-fds"},
		{[]string{"create", "--pid-file", "/no/such/dir/pid", "--bundle", dir, id}, "/no/such/dir/pid"},
		{[]string{"no-such-command"}, "no-such-command"},
		{[]string{"create", "--preserve-fds", "2", "--bundle", dir, id}, "descriptor 3 is not open"},
		{[]string{"run", "--preserve-fds", "-1", "--bundle", dir, id}, "--preserve-fds"},
		{[]string{"--log", filepath.Join(t.TempDir(), "log"), "create", "--preserve-fds", "1", "--bundle", dir, id}, "descriptor 3 is not open"},
		{[]string{"run", "--detach", "--wait-fd", "2", "--bundle", dir, id}, "--wait-fd 2"},
		{[]string{"run", "--detach", "--wait-fd", "3", "--bundle", dir, id}, "--wait-fd 3: bad file descriptor"},
		{[]string{"run", "--detach", "--bundle", dir, id, "--wait-fd"}, "--wait-fd"},
		{[]string{"create", "--bundle", dir, id, "--preserve-fds"}, "--preserve-fds"},
	} {
		e.expectFail(id, dir, tc.args, tc.want)
	}
}
