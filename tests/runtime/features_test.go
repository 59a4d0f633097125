package runtime_test

// Runtime-spec features checked from inside the container: namespaces, the
// root filesystem, and the process (user, rlimits, capabilities, ...).
// Mounts, /dev, masked paths and sysctls are in features2_test.go.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/runtime/caps"
)

// shBundle returns a bundle on the shared rootfs that runs script with sh.
func shBundle(t *testing.T, script string) *bundle {
	t.Helper()
	return newBundle(t, "sh", "-c", script)
}

// mustRunContainer runs b in the foreground, fails the test unless it
// exits 0, and returns its stdout.
func (e *env) mustRunContainer(b *bundle, extra ...string) string {
	e.t.Helper()
	dir := b.save(e.t)
	args := append([]string{"run"}, extra...)
	args = append(args, "--bundle", dir, e.id())
	out, stderr, code := e.run(args...)
	if code != 0 {
		e.t.Fatalf("container exited %d\nstdout: %s\nstderr: %s", code, out, stderr)
	}
	return out
}

// sub returns the env for a subtest: the same state root, with failures
// reported on the subtest. The parent's env cleans up.
func (e *env) sub(t *testing.T) *env {
	return &env{t: t, root: e.root, bin: e.bin}
}

// createFails creates b, expects it to fail, and returns stderr. Nothing of
// the container may remain.
func (e *env) createFails(b *bundle) string {
	e.t.Helper()
	id := e.id()
	out, stderr, code := e.run("create", "--bundle", b.save(e.t), id)
	if code == 0 {
		e.t.Fatalf("create succeeded, want an error (stdout %q)", out)
	}
	if _, err := os.Stat(filepath.Join(e.root, id)); !os.IsNotExist(err) {
		e.t.Errorf("state directory of failed create left behind: %v", err)
	}
	cgroupGone(e.t, id)
	return stderr
}

// startDetached creates (with the extra create flags) and starts b and
// returns its id and init pid; the env's cleanup deletes it.
func (e *env) startDetached(b *bundle, extra ...string) (string, int) {
	e.t.Helper()
	id := e.id()
	e.mustRun(append(append([]string{"create"}, extra...), "--bundle", b.save(e.t), id)...)
	e.mustRun("start", id)
	e.waitStatus(id, "running")
	return id, int(e.state(id)["pid"].(float64))
}

// outputLines splits output into its non-empty lines.
func outputLines(out string) []string {
	var ls []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			ls = append(ls, l)
		}
	}
	return ls
}

// setNamespace replaces (or adds) the namespace of type typ in b.
func (b *bundle) setNamespace(typ specs.LinuxNamespaceType, path string) {
	for i, n := range b.Spec.Linux.Namespaces {
		if n.Type == typ {
			b.Spec.Linux.Namespaces[i].Path = path
			return
		}
	}
	b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: typ, Path: path})
}

// dropNamespace removes the namespace of type typ from b.
func (b *bundle) dropNamespace(typ specs.LinuxNamespaceType) {
	var keep []specs.LinuxNamespace
	for _, n := range b.Spec.Linux.Namespaces {
		if n.Type != typ {
			keep = append(keep, n)
		}
	}
	b.Spec.Linux.Namespaces = keep
}

func hostNamespace(t *testing.T, file string) string {
	t.Helper()
	l, err := os.Readlink("/proc/self/ns/" + file)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestFeaturePIDNamespace(t *testing.T) {
	e := newEnv(t)
	out := e.mustRunContainer(shBundle(t, `echo $$; ls /proc | grep -E '^[0-9]+$' | sort -n | tr '\n' ' '`))
	ls := outputLines(out)
	if len(ls) != 2 || ls[0] != "1" {
		t.Fatalf("sh is not PID 1: %q", out)
	}
	// Only sh (1) and the processes of the pipeline are visible.
	for _, f := range strings.Fields(ls[1]) {
		if n, _ := strconv.Atoi(f); n > 10 {
			t.Fatalf("host processes visible in the container's /proc: %q", ls[1])
		}
	}
}

func TestFeatureNamespacesAreNew(t *testing.T) {
	e := newEnv(t)
	files := []string{"pid", "mnt", "uts", "ipc", "net", "cgroup"}
	out := e.mustRunContainer(shBundle(t, "for n in "+strings.Join(files, " ")+"; do readlink /proc/self/ns/$n; done"))
	got := outputLines(out)
	if len(got) != len(files) {
		t.Fatalf("readlink output %q", out)
	}
	for i, f := range files {
		if host := hostNamespace(t, f); got[i] == host {
			t.Errorf("%s namespace is the host's (%s)", f, host)
		}
	}
	// Without a network namespace in the config the host's is kept.
	b := shBundle(t, "readlink /proc/self/ns/net")
	b.dropNamespace(specs.NetworkNamespace)
	if got, host := strings.TrimSpace(e.mustRunContainer(b)), hostNamespace(t, "net"); got != host {
		t.Errorf("no network namespace configured: container has %s, host %s", got, host)
	}
}

func TestFeatureUTSNamespace(t *testing.T) {
	e := newEnv(t)
	host, _ := os.Hostname()
	b := shBundle(t, "hostname; uname -n; cat /proc/sys/kernel/domainname")
	b.Spec.Hostname = "berth-uts-test"
	b.Spec.Domainname = "example.test"
	got := outputLines(e.mustRunContainer(b))
	want := []string{"berth-uts-test", "berth-uts-test", "example.test"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("hostname, uname -n, domainname = %q, want %q", got, want)
	}
	if now, _ := os.Hostname(); now != host {
		t.Fatalf("host name changed from %q to %q", host, now)
	}
}

func TestFeatureIPCNamespace(t *testing.T) {
	e := newEnv(t)
	// A System V shared memory segment made on the host is not visible in
	// the container's ipc namespace.
	id, err := unix.SysvShmGet(unix.IPC_PRIVATE, 4096, unix.IPC_CREAT|0o600)
	if err != nil {
		t.Fatalf("shmget: %v", err)
	}
	t.Cleanup(func() { _, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil) })
	host, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		t.Fatal(err)
	}
	if len(outputLines(string(host))) < 2 {
		t.Fatalf("host /proc/sysvipc/shm does not list the test segment: %q", host)
	}
	out := e.mustRunContainer(shBundle(t, "cat /proc/sysvipc/shm"))
	if n := len(outputLines(out)); n != 1 {
		t.Fatalf("container sees %d shm lines, want the header only:\n%s", n, out)
	}
}

func TestFeatureNetworkNamespace(t *testing.T) {
	e := newEnv(t)
	out := e.mustRunContainer(shBundle(t, "ip -o link show; ls /sys/class/net"))
	ls := outputLines(out)
	if len(ls) != 2 {
		t.Fatalf("want one link and one /sys/class/net entry, got:\n%s", out)
	}
	if !strings.Contains(ls[0], ": lo:") || !strings.Contains(ls[0], ",UP") {
		t.Fatalf("lo missing or down: %q", ls[0])
	}
	if ls[1] != "lo" {
		t.Fatalf("/sys/class/net lists %q, want lo (sysfs of the container's netns)", ls[1])
	}
	// Loopback works (busybox ping needs a raw socket).
	b := shBundle(t, "ping -c 1 -W 2 127.0.0.1 >/dev/null && echo ok")
	c := b.Spec.Process.Capabilities
	c.Bounding = append(c.Bounding, "CAP_NET_RAW")
	c.Effective = append(c.Effective, "CAP_NET_RAW")
	c.Permitted = append(c.Permitted, "CAP_NET_RAW")
	out = e.mustRunContainer(b)
	if strings.TrimSpace(out) != "ok" {
		t.Fatalf("ping 127.0.0.1: %q", out)
	}
}

func TestFeatureCgroupNamespace(t *testing.T) {
	e := newEnv(t)
	out := e.mustRunContainer(shBundle(t, "cat /proc/self/cgroup"))
	for _, l := range outputLines(out) {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) != 3 || parts[2] != "/" {
			t.Errorf("cgroup line %q: want path /", l)
		}
	}
	// Without a cgroup namespace the host path shows.
	b := shBundle(t, "cat /proc/self/cgroup")
	b.dropNamespace(specs.CgroupNamespace)
	dir := b.save(t)
	id := e.id()
	out, stderr, code := e.run("run", "--bundle", dir, id)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "/berth/"+id) {
		t.Fatalf("without a cgroup namespace, /proc/self/cgroup should show /berth/%s:\n%s", id, out)
	}
}

// chownTree gives every file under dir (links themselves, not their
// targets) to uid:gid.
func chownTree(t *testing.T, dir string, uid, gid int) {
	t.Helper()
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// traversable opens the directories leading to dir to everyone, as a
// container whose root is a host user other than root must walk them.
func traversable(t *testing.T, dir string) {
	t.Helper()
	for d := dir; d != "/" && strings.HasPrefix(d, os.TempDir()+"/"); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// userNSBundle returns a bundle with a private rootfs owned by hostID and
// a new user namespace mapping container ids 0-65535 to hostID on.
func userNSBundle(t *testing.T, hostID uint32, script string) (*bundle, string) {
	t.Helper()
	b := shBundle(t, script)
	rootfs := b.privateRootfs(t)
	chownTree(t, rootfs, int(hostID), int(hostID))
	traversable(t, rootfs)
	b.setNamespace(specs.UserNamespace, "")
	b.Spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: hostID, Size: 65536}}
	b.Spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: hostID, Size: 65536}}
	return b, rootfs
}

func TestFeatureUserNamespace(t *testing.T) {
	const hostID = 100000
	e := newEnv(t)
	script := `cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g;
		touch /tmp/made-inside; mkdir /tmp/dir-inside; stat -c '%t:%T' /dev/null`
	b, rootfs := userNSBundle(t, hostID, script)
	got := outputLines(e.mustRunContainer(b))
	want := []string{"0 100000 65536", "0 100000 65536", "0", "0", "1:3"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if strings.Join(strings.Fields(got[i]), " ") != want[i] {
			t.Errorf("line %d: %q, want %q", i, got[i], want[i])
		}
	}
	for _, name := range []string{"tmp/made-inside", "tmp/dir-inside"} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(rootfs, name), &st); err != nil {
			t.Fatalf("file the container made: %v", err)
		}
		if st.Uid != hostID || st.Gid != hostID {
			t.Errorf("%s is owned by %d:%d on the host, want %d:%d", name, st.Uid, st.Gid, hostID, hostID)
		}
	}

	t.Run("readonly root sysctl hostname", func(t *testing.T) {
		e := e.sub(t)
		b, _ := userNSBundle(t, hostID, `touch /x 2>/dev/null || echo root-ro; hostname;
			cat /proc/sys/net/ipv4/ip_forward; echo y > /proc/sys/kernel/hostname 2>/dev/null || echo proc-sys-ro`)
		b.Spec.Root.Readonly = true
		b.Spec.Hostname = "in-userns"
		b.Spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		got := outputLines(e.mustRunContainer(b))
		want := []string{"root-ro", "in-userns", "1", "proc-sys-ro"}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("non-root user", func(t *testing.T) {
		e := e.sub(t)
		b, rootfs := userNSBundle(t, hostID, "id -u; touch /tmp/by-user")
		if err := os.Chmod(filepath.Join(rootfs, "tmp"), 0o1777); err != nil {
			t.Fatal(err)
		}
		b.Spec.Process.User = specs.User{UID: 1000, GID: 1000}
		if got := strings.TrimSpace(e.mustRunContainer(b)); got != "1000" {
			t.Errorf("id -u: %q", got)
		}
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(rootfs, "tmp/by-user"), &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != hostID+1000 || st.Gid != hostID+1000 {
			t.Errorf("file of container user 1000 owned by %d:%d on the host, want %d", st.Uid, st.Gid, hostID+1000)
		}
	})
}

func TestFeatureTimeNamespace(t *testing.T) {
	if _, err := os.Stat("/proc/self/ns/time"); err != nil {
		t.Skip("kernel without time namespaces")
	}
	e := newEnv(t)
	const boot, mono = 1000000, 500000
	b := shBundle(t, "cat /proc/uptime; cat /proc/self/timens_offsets")
	b.setNamespace(specs.TimeNamespace, "")
	b.Spec.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{
		"boottime":  {Secs: boot},
		"monotonic": {Secs: mono, Nanosecs: 7},
	}
	hostUp := parseUptime(t, readHostFile(t, "/proc/uptime"))
	out := e.mustRunContainer(b)
	ls := outputLines(out)
	if len(ls) != 3 {
		t.Fatalf("output:\n%s", out)
	}
	inside := parseUptime(t, ls[0])
	if d := inside - hostUp; d < boot || d > boot+60 {
		t.Errorf("uptime inside %.0f, host %.0f: want it shifted by %d s", inside, hostUp, boot)
	}
	if f := strings.Fields(ls[1]); strings.Join(f, " ") != fmt.Sprintf("monotonic %d 7", mono) {
		t.Errorf("timens_offsets monotonic line %q", ls[1])
	}
	if f := strings.Fields(ls[2]); strings.Join(f, " ") != fmt.Sprintf("boottime %d 0", boot) {
		t.Errorf("timens_offsets boottime line %q", ls[2])
	}
}

func readHostFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func parseUptime(t *testing.T, s string) float64 {
	t.Helper()
	f := strings.Fields(s)
	if len(f) == 0 {
		t.Fatalf("uptime %q", s)
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		t.Fatalf("uptime %q: %v", s, err)
	}
	return v
}

func TestFeatureJoinNamespaces(t *testing.T) {
	e := newEnv(t)
	first := newBundle(t, "sleep", "120")
	first.Spec.Hostname = "first-container"
	_, pid := e.startDetached(first)
	ns := func(kind string) string { return fmt.Sprintf("/proc/%d/ns/%s", pid, kind) }
	want := map[string]string{}
	for _, k := range []string{"uts", "ipc", "pid"} {
		l, err := os.Readlink(ns(k))
		if err != nil {
			t.Fatal(err)
		}
		want[k] = l
	}

	t.Run("uts", func(t *testing.T) {
		e := e.sub(t)
		b := shBundle(t, "hostname; readlink /proc/self/ns/uts")
		b.Spec.Hostname = ""
		b.setNamespace(specs.UTSNamespace, ns("uts"))
		got := outputLines(e.mustRunContainer(b))
		if len(got) != 2 || got[0] != "first-container" || got[1] != want["uts"] {
			t.Fatalf("second container: %q, want hostname first-container in %s", got, want["uts"])
		}
	})
	t.Run("ipc", func(t *testing.T) {
		e := e.sub(t)
		b := shBundle(t, "readlink /proc/self/ns/ipc")
		b.setNamespace(specs.IPCNamespace, ns("ipc"))
		if got := strings.TrimSpace(e.mustRunContainer(b)); got != want["ipc"] {
			t.Fatalf("ipc namespace %s, want %s", got, want["ipc"])
		}
	})
	t.Run("pid", func(t *testing.T) {
		e := e.sub(t)
		// The second container's /proc shows the first's init as PID 1.
		b := shBundle(t, "readlink /proc/self/ns/pid; cat /proc/1/comm; [ $$ != 1 ] && echo not-init")
		b.setNamespace(specs.PIDNamespace, ns("pid"))
		got := outputLines(e.mustRunContainer(b))
		if len(got) != 3 || got[0] != want["pid"] || got[1] != "sleep" || got[2] != "not-init" {
			t.Fatalf("joined pid namespace: %q, want %s with sleep as PID 1", got, want["pid"])
		}
	})
	t.Run("net", func(t *testing.T) {
		e := e.sub(t)
		if _, err := exec.LookPath("ip"); err != nil {
			t.Skip("ip (iproute2) is not installed")
		}
		name := fmt.Sprintf("berth-test-%d", os.Getpid())
		if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
			t.Fatalf("ip netns add: %v: %s", err, out)
		}
		t.Cleanup(func() {
			if out, err := exec.Command("ip", "netns", "delete", name).CombinedOutput(); err != nil {
				t.Errorf("ip netns delete %s: %v: %s", name, err, out)
			}
		})
		path := "/run/netns/" + name
		var st unix.Stat_t
		if err := unix.Stat(path, &st); err != nil {
			t.Fatal(err)
		}
		b := shBundle(t, "readlink /proc/self/ns/net")
		b.setNamespace(specs.NetworkNamespace, path)
		if got, w := strings.TrimSpace(e.mustRunContainer(b)), fmt.Sprintf("net:[%d]", st.Ino); got != w {
			t.Fatalf("network namespace %s, want %s", got, w)
		}
	})
	t.Run("wrong type", func(t *testing.T) {
		e := e.sub(t)
		b := shBundle(t, "true")
		b.setNamespace(specs.NetworkNamespace, ns("uts"))
		if stderr := e.createFails(b); !strings.Contains(stderr, "net") || !strings.Contains(stderr, "another type") {
			t.Fatalf("joining a uts namespace as net: %q", stderr)
		}
	})
}

func TestFeatureRootReadonly(t *testing.T) {
	e := newEnv(t)
	b := shBundle(t, "touch /probe 2>&1; echo $?")
	b.Spec.Root.Readonly = true
	out := e.mustRunContainer(b)
	if !strings.Contains(out, "Read-only file system") || strings.HasSuffix(strings.TrimSpace(out), "\n0") {
		t.Fatalf("write to a read-only root: %q", out)
	}
	// Mounts on a read-only root stay writable.
	b = shBundle(t, "touch /dev/shm/probe && echo ok")
	b.Spec.Root.Readonly = true
	if out := e.mustRunContainer(b); strings.TrimSpace(out) != "ok" {
		t.Fatalf("write to /dev/shm under a read-only root: %q", out)
	}
	b = shBundle(t, "touch /probe && echo ok")
	rootfs := b.privateRootfs(t)
	if out := e.mustRunContainer(b); strings.TrimSpace(out) != "ok" {
		t.Fatalf("write to a writable root: %q", out)
	}
	if _, err := os.Stat(filepath.Join(rootfs, "probe")); err != nil {
		t.Fatalf("file written to / is not in the rootfs: %v", err)
	}
}

func TestFeatureNoPivot(t *testing.T) {
	e := newEnv(t)
	b := shBundle(t, "echo $$; ls /; grep -c . /proc/self/mountinfo >/dev/null && echo mounts")
	b.privateRootfs(t)
	out := e.mustRunContainer(b, "--no-pivot")
	ls := outputLines(out)
	if len(ls) < 2 || ls[0] != "1" || ls[len(ls)-1] != "mounts" {
		t.Fatalf("--no-pivot output:\n%s", out)
	}
	for _, l := range ls[1 : len(ls)-1] {
		switch l {
		case "bin", "dev", "etc", "proc", "root", "sys", "tmp":
		default:
			t.Errorf("unexpected entry /%s in the --no-pivot root", l)
		}
	}
}

func TestFeatureProcessUser(t *testing.T) {
	e := newEnv(t)
	b := shBundle(t, "grep -E '^(Uid|Gid|Groups):' /proc/$$/status; umask; id -u; id -g; touch /tmp/f; stat -c '%u %g %a' /tmp/f")
	b.privateRootfs(t)
	if err := os.Chmod(filepath.Join(b.Spec.Root.Path, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	umask := uint32(0o027)
	b.Spec.Process.User = specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{10, 2000}, Umask: &umask}
	got := outputLines(e.mustRunContainer(b))
	want := []string{
		"Uid:\t1000\t1000\t1000\t1000",
		"Gid:\t1001\t1001\t1001\t1001",
		"Groups:\t10 2000",
		"0027", "1000", "1001",
		"1000 1001 640",
	}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if strings.Join(strings.Fields(got[i]), " ") != strings.Join(strings.Fields(want[i]), " ") {
			t.Errorf("line %d: %q, want %q", i, got[i], want[i])
		}
	}
}

func TestFeatureProcessEnvCwdArgs(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "sh", "-c", `pwd; echo "$FOO"; echo "[$EMPTY]"; env | grep -c _BERTH; printf '%s|' "$0" "$@"; echo`, "argv0", "a b", "", "c")
	b.Spec.Process.Env = []string{"PATH=/bin", "FOO=bar baz", "EMPTY="}
	b.Spec.Process.Cwd = "/etc"
	out := e.mustRunContainer(b)
	want := []string{"/etc", "bar baz", "[]", "0", "argv0|a b||c|"}
	if got := outputLines(out); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestFeatureRlimits(t *testing.T) {
	e := newEnv(t)
	b := shBundle(t, "ulimit -Sn; ulimit -Hn; grep 'Max open files' /proc/self/limits")
	b.Spec.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 100, Hard: 200}}
	got := outputLines(e.mustRunContainer(b))
	if len(got) != 3 || got[0] != "100" || got[1] != "200" || strings.Join(strings.Fields(got[2]), " ") != "Max open files 100 200 files" {
		t.Fatalf("rlimits: %q", got)
	}
	// Raising a hard limit above the runtime's needs CAP_SYS_RESOURCE;
	// when the runtime lacks it, create says which rlimit failed.
	var cur unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &cur); err != nil {
		t.Fatal(err)
	}
	if !hasCap(t, unix.CAP_SYS_RESOURCE) && cur.Max < 1<<20 {
		b := shBundle(t, "true")
		b.Spec.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: cur.Max + 1, Hard: cur.Max + 1}}
		if stderr := e.createFails(b); !strings.Contains(stderr, "RLIMIT_NOFILE") {
			t.Fatalf("raising a hard limit without CAP_SYS_RESOURCE: %q", stderr)
		}
	}
}

// hasCap reports whether the test process has capability c in effect.
func hasCap(t *testing.T, c int) bool {
	t.Helper()
	for _, l := range outputLines(readHostFile(t, "/proc/self/status")) {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return m&(1<<uint(c)) != 0
		}
	}
	t.Fatal("no CapEff in /proc/self/status")
	return false
}

func TestFeatureOOMScoreAdj(t *testing.T) {
	e := newEnv(t)
	b := shBundle(t, "cat /proc/self/oom_score_adj")
	adj := 567
	b.Spec.Process.OOMScoreAdj = &adj
	if got := strings.TrimSpace(e.mustRunContainer(b)); got != "567" {
		t.Fatalf("oom_score_adj %q, want 567", got)
	}
}

func TestFeatureNoNewPrivileges(t *testing.T) {
	e := newEnv(t)
	for _, nnp := range []bool{true, false} {
		b := shBundle(t, "grep NoNewPrivs /proc/$$/status")
		b.Spec.Process.NoNewPrivileges = nnp
		want := "0"
		if nnp {
			want = "1"
		}
		if got := strings.Fields(e.mustRunContainer(b)); len(got) != 2 || got[1] != want {
			t.Errorf("noNewPrivileges %v: %q, want NoNewPrivs %s", nnp, got, want)
		}
	}
}

// capMask returns the /proc/<pid>/status form of a set of capability names.
func capMask(t *testing.T, names ...string) string {
	t.Helper()
	var m uint64
	for _, n := range names {
		c, err := caps.Parse(n)
		if err != nil {
			t.Fatal(err)
		}
		m |= 1 << uint(c)
	}
	return fmt.Sprintf("%016x", m)
}

// capStatus parses the Cap* lines of /proc/<pid>/status.
func capStatus(out string) map[string]string {
	m := map[string]string{}
	for _, l := range outputLines(out) {
		k, v, ok := strings.Cut(l, ":")
		if ok && strings.HasPrefix(k, "Cap") {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

func TestFeatureCapabilities(t *testing.T) {
	e := newEnv(t)
	t.Run("root", func(t *testing.T) {
		e := e.sub(t)
		set := []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"}
		b := shBundle(t, "grep ^Cap /proc/$$/status")
		b.Spec.Process.Capabilities = &specs.LinuxCapabilities{Bounding: set, Effective: set, Permitted: set}
		got := capStatus(e.mustRunContainer(b))
		want := map[string]string{
			"CapInh": capMask(t), "CapPrm": capMask(t, set...), "CapEff": capMask(t, set...),
			"CapBnd": capMask(t, set...), "CapAmb": capMask(t),
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %s, want %s", k, got[k], v)
			}
		}
	})
	t.Run("non-root ambient", func(t *testing.T) {
		e := e.sub(t)
		// A non-root process keeps across execve only its ambient set.
		set := []string{"CAP_NET_BIND_SERVICE", "CAP_KILL"}
		b := shBundle(t, "grep ^Cap /proc/$$/status")
		b.Spec.Process.User = specs.User{UID: 1000, GID: 1000}
		b.Spec.Process.Capabilities = &specs.LinuxCapabilities{
			Bounding: append(set, "CAP_SETUID"), Effective: set, Permitted: set, Inheritable: set, Ambient: set,
		}
		got := capStatus(e.mustRunContainer(b))
		want := map[string]string{
			"CapInh": capMask(t, set...), "CapPrm": capMask(t, set...), "CapEff": capMask(t, set...),
			"CapBnd": capMask(t, append(set, "CAP_SETUID")...), "CapAmb": capMask(t, set...),
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %s, want %s", k, got[k], v)
			}
		}
	})
	t.Run("effect", func(t *testing.T) {
		e := e.sub(t)
		// Without CAP_CHOWN root cannot give a file away.
		b := shBundle(t, "touch /tmp/f; chown 1:1 /tmp/f 2>/dev/null && echo chowned || echo refused")
		b.privateRootfs(t)
		b.Spec.Process.Capabilities = &specs.LinuxCapabilities{Bounding: []string{"CAP_KILL"}, Effective: []string{"CAP_KILL"}, Permitted: []string{"CAP_KILL"}}
		if got := strings.TrimSpace(e.mustRunContainer(b)); got != "refused" {
			t.Fatalf("chown without CAP_CHOWN: %q", got)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		e := e.sub(t)
		b := shBundle(t, "true")
		b.Spec.Process.Capabilities.Effective = append(b.Spec.Process.Capabilities.Effective, "CAP_NO_SUCH_THING")
		stderr := e.createFails(b)
		if !strings.Contains(stderr, "CAP_NO_SUCH_THING") || !strings.Contains(stderr, "capabilit") {
			t.Fatalf("unknown capability: %q", stderr)
		}
	})
}

// TestFeatureNoMountNamespace: without a mount namespace the container
// shares the runtime's, as the spec says (and runc and crun do): its
// mounts are made there, it is entered by chroot, and delete removes the
// mounts it made. Run in a private mount namespace of the test's own so
// nothing reaches the host's mount table. What only a private mount table
// can give (masked paths) is refused.
func TestFeatureNoMountNamespace(t *testing.T) {
	e := newEnv(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare(1) is needed")
	}
	b := newBundle(t, "sh", "-c", "readlink /proc/self/ns/mnt; test -e /proc/1/status && echo proc-ok")
	rootfs := b.privateRootfs(t)
	b.dropNamespace(specs.MountNamespace)
	b.Spec.Linux.MaskedPaths, b.Spec.Linux.ReadonlyPaths = nil, nil
	dir := b.save(t)
	id := e.id()
	script := `readlink /proc/self/ns/mnt; "$@"; echo "left: $(grep -c " $ROOTFS/" /proc/self/mountinfo)"`
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
		binary, "--root", e.root, "run", "--bundle", dir, id)
	cmd.Env = append(os.Environ(), "ROOTFS="+rootfs)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run without a mount namespace: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 4 || lines[0] != lines[1] || lines[2] != "proc-ok" || lines[3] != "left: 0" {
		t.Errorf("want the runtime's mount namespace, /proc mounted and no mount left; got:\n%s", out)
	}
	cgroupGone(t, id)

	b.Spec.Linux.MaskedPaths = []string{"/proc/kcore"}
	_, stderr, code := e.runContainer(b)
	if code == 0 || !strings.Contains(stderr, "linux.maskedPaths: needs a mount namespace") {
		t.Errorf("masked paths without a mount namespace: exit %d, %q", code, stderr)
	}
}
