package runtime_test

// Runtime-spec features checked from inside the container: mounts, root
// propagation, /dev, masked and read-only paths, sysctls.

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// mountEntry is one line of /proc/<pid>/mountinfo.
type mountEntry struct {
	Point    string
	Opts     []string // per-mount options (ro, nosuid, ...)
	Optional []string // shared:N, master:N, unbindable, ...
	FSType   string
	Source   string
	Super    []string // superblock options
}

func (m mountEntry) hasOpt(o string) bool { return hasString(m.Opts, o) }

func (m mountEntry) hasSuper(o string) bool { return hasString(m.Super, o) }

// propagation returns the optional field starting with prefix, or "".
func (m mountEntry) propagation(prefix string) string {
	for _, f := range m.Optional {
		if strings.HasPrefix(f, prefix) {
			return f
		}
	}
	return ""
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// parseMountinfo parses mountinfo text.
func parseMountinfo(t *testing.T, text string) []mountEntry {
	t.Helper()
	var ms []mountEntry
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || len(f) < sep+4 {
			continue
		}
		ms = append(ms, mountEntry{
			Point: unescapeMountinfo(f[4]), Opts: strings.Split(f[5], ","), Optional: f[6:sep],
			FSType: f[sep+1], Source: f[sep+2], Super: strings.Split(f[sep+3], ","),
		})
	}
	return ms
}

func unescapeMountinfo(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}

// topMount returns the last (topmost) mount at point.
func topMount(t *testing.T, ms []mountEntry, point string) mountEntry {
	t.Helper()
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Point == point {
			return ms[i]
		}
	}
	t.Fatalf("no mount at %s", point)
	return mountEntry{}
}

// mountinfoMarker separates a script's own output from the mountinfo it
// prints last.
const mountinfoMarker = "---mountinfo---"

// withMountinfo appends printing the container's mountinfo to script.
func withMountinfo(script string) string {
	return script + "; echo " + mountinfoMarker + "; cat /proc/self/mountinfo"
}

// splitMountinfo splits the output of a withMountinfo script.
func splitMountinfo(t *testing.T, out string) (string, []mountEntry) {
	t.Helper()
	head, mi, ok := strings.Cut(out, mountinfoMarker+"\n")
	if !ok {
		t.Fatalf("no mountinfo in output:\n%s", out)
	}
	return head, parseMountinfo(t, mi)
}

// makeHostDir returns a new directory of the test with the given files.
func makeHostDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(content, "#!") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// mountHostTmpfs mounts a tmpfs on dir on the host for the test's duration.
func mountHostTmpfs(t *testing.T, dir string, flags uintptr) {
	t.Helper()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64m"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	if flags != 0 {
		if err := unix.Mount("", dir, "", flags, ""); err != nil {
			t.Fatalf("set propagation of %s: %v", dir, err)
		}
	}
}

// hostMountsUnder lists the host's mount points below dir (dir excluded).
func hostMountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	var under []string
	for _, m := range parseMountinfo(t, readHostFile(t, "/proc/self/mountinfo")) {
		if strings.HasPrefix(m.Point, dir+"/") {
			under = append(under, m.Point)
		}
	}
	return under
}

func TestFeatureRootfsPropagation(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		prop       string
		shared     bool
		unbindable bool
	}{
		{"", false, false},
		{"private", false, false},
		{"rprivate", false, false},
		{"slave", false, false},
		{"rslave", false, false},
		{"shared", true, false},
		{"rshared", true, false},
		{"unbindable", false, true},
		{"runbindable", false, true},
	}
	for _, c := range cases {
		name := c.prop
		if name == "" {
			name = "default"
		}
		for _, flags := range [][]string{nil, {"--no-pivot"}} {
			name := name
			if flags != nil {
				name += " no-pivot"
			}
			t.Run(name, func(t *testing.T) {
				e := e.sub(t)
				b := shBundle(t, withMountinfo("true"))
				b.Spec.Linux.RootfsPropagation = c.prop
				_, ms := splitMountinfo(t, e.mustRunContainer(b, flags...))
				root := topMount(t, ms, "/")
				if got := root.propagation("shared:") != ""; got != c.shared {
					t.Errorf("/ optional fields %q: shared %v, want %v", root.Optional, got, c.shared)
				}
				if got := root.propagation("unbindable") != ""; got != c.unbindable {
					t.Errorf("/ optional fields %q: unbindable %v, want %v", root.Optional, got, c.unbindable)
				}
			})
		}
	}
}

// TestFeatureRootfsInSharedMount puts the rootfs in a shared mount of the
// host: its bind and the container's mounts must not propagate back to the
// host, whatever linux.rootfsPropagation says.
func TestFeatureRootfsInSharedMount(t *testing.T) {
	requireRoot(t)
	props := []string{"", "private", "rprivate", "slave", "rslave", "unbindable", "runbindable", "shared", "rshared"}
	for _, prop := range props {
		for _, flags := range [][]string{nil, {"--no-pivot"}} {
			name := prop
			if name == "" {
				name = "default"
			}
			if flags != nil {
				name += " no-pivot"
			}
			t.Run(name, func(t *testing.T) {
				parent := t.TempDir()
				mountHostTmpfs(t, parent, unix.MS_SHARED)
				// Made after the mount, so its cleanup deletes the
				// container before the mount goes.
				e := newEnv(t)
				b := newBundle(t, "sleep", "60")
				b.Dir = parent
				b.privateRootfs(t)
				b.Spec.Linux.RootfsPropagation = prop
				id, _ := e.startDetached(b, flags...)
				if under := hostMountsUnder(t, parent); len(under) > 0 {
					t.Errorf("container mounts propagated to the host: %q", under)
				}
				e.mustRun("kill", id, "KILL")
				e.waitStatus(id, "stopped")
				e.mustRun("delete", id)
				if under := hostMountsUnder(t, parent); len(under) > 0 {
					t.Errorf("mounts left on the host after delete: %q", under)
				}
			})
		}
	}
}

func TestFeatureFilesystemMounts(t *testing.T) {
	e := newEnv(t)
	script := withMountinfo(`stat -c '%a' /mnt/tmp; echo x > /mnt/tmp/f && echo tmpfs-writable;
		ls /proc/self/status >/dev/null && echo proc;
		ls /sys/kernel >/dev/null && echo sysfs;
		ls /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes >/dev/null && echo cgroup;
		grep -qx 1 /sys/fs/cgroup/pids/cgroup.procs && echo own-cgroup;
		echo 5 > /sys/fs/cgroup/pids/pids.max 2>/dev/null || echo cgroup-ro;
		touch /dev/mqueue/q 2>/dev/null; ls /dev/mqueue >/dev/null && echo mqueue`)
	b := shBundle(t, script)
	b.privateRootfs(t)
	b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{
		Destination: "/mnt/tmp", Type: "tmpfs", Source: "tmpfs",
		Options: []string{"nosuid", "nodev", "noexec", "size=2m", "mode=1770"},
	})
	head, ms := splitMountinfo(t, e.mustRunContainer(b))
	want := []string{"1770", "tmpfs-writable", "proc", "sysfs", "cgroup", "own-cgroup", "cgroup-ro", "mqueue"}
	if got := outputLines(head); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got %q, want %q", got, want)
	}
	tm := topMount(t, ms, "/mnt/tmp")
	if tm.FSType != "tmpfs" || !tm.hasSuper("size=2048k") || !tm.hasSuper("mode=1770") {
		t.Errorf("/mnt/tmp: %+v, want tmpfs with size=2048k,mode=1770", tm)
	}
	for _, o := range []string{"nosuid", "nodev", "noexec"} {
		if !tm.hasOpt(o) {
			t.Errorf("/mnt/tmp lacks %s: %q", o, tm.Opts)
		}
	}
	types := map[string]string{
		"/proc": "proc", "/sys": "sysfs", "/dev": "tmpfs", "/dev/pts": "devpts",
		"/dev/shm": "tmpfs", "/dev/mqueue": "mqueue", "/sys/fs/cgroup": "tmpfs",
		"/sys/fs/cgroup/pids": "cgroup",
	}
	if _, err := os.Stat("/sys/fs/cgroup/pids"); err != nil {
		// A cgroup v2 host has one cgroup2 mount instead.
		types["/sys/fs/cgroup"] = "cgroup2"
		delete(types, "/sys/fs/cgroup/pids")
	}
	for p, fs := range types {
		if m := topMount(t, ms, p); m.FSType != fs {
			t.Errorf("%s is %s, want %s", p, m.FSType, fs)
		}
	}
	if m := topMount(t, ms, "/sys"); !m.hasOpt("ro") {
		t.Errorf("/sys is not read-only: %q", m.Opts)
	}
	if m := topMount(t, ms, "/dev/pts"); !m.hasSuper("ptmxmode=666") || !m.hasSuper("gid=5") {
		t.Errorf("/dev/pts superblock options %q", m.Super)
	}
}

func TestFeatureMountOrder(t *testing.T) {
	e := newEnv(t)
	src := makeHostDir(t, map[string]string{"from-host": "x"})
	tmpfs := specs.Mount{Destination: "/m", Type: "tmpfs", Source: "tmpfs"}
	bind := specs.Mount{Destination: "/m/sub", Type: "bind", Source: src, Options: []string{"bind"}}

	// tmpfs first, then a bind inside it: both are visible.
	b := shBundle(t, "ls /m/sub")
	b.privateRootfs(t)
	b.Spec.Mounts = append(b.Spec.Mounts, tmpfs, bind)
	if got := strings.TrimSpace(e.mustRunContainer(b)); got != "from-host" {
		t.Errorf("tmpfs then bind: ls /m/sub = %q", got)
	}
	// The other way round the tmpfs hides the bind.
	b = shBundle(t, "ls -A /m")
	b.privateRootfs(t)
	b.Spec.Mounts = append(b.Spec.Mounts, bind, tmpfs)
	if got := strings.TrimSpace(e.mustRunContainer(b)); got != "" {
		t.Errorf("bind then tmpfs: /m holds %q, want it empty", got)
	}
}

func TestFeatureBindMountOptions(t *testing.T) {
	e := newEnv(t)
	src := makeHostDir(t, map[string]string{"file": "content\n", "run.sh": "#!/bin/sh\necho ran\n"})
	script := withMountinfo(`cat /b/rw/file; touch /b/rw/new && echo rw-ok;
		touch /b/ro/x 2>/dev/null || echo ro-refused;
		/b/noexec/run.sh 2>/dev/null || echo noexec-refused;
		/b/rw/run.sh`)
	b := shBundle(t, script)
	b.privateRootfs(t)
	bind := func(dest string, opts ...string) specs.Mount {
		return specs.Mount{Destination: dest, Type: "bind", Source: src, Options: append([]string{"bind"}, opts...)}
	}
	b.Spec.Mounts = append(b.Spec.Mounts,
		bind("/b/rw", "rw"),
		bind("/b/ro", "ro"),
		bind("/b/nosuid", "nosuid"),
		bind("/b/nodev", "nodev"),
		bind("/b/noexec", "noexec"),
		bind("/b/noatime", "noatime"),
		bind("/b/relatime", "relatime"),
		bind("/b/strictatime", "strictatime"),
		bind("/b/all", "ro", "nosuid", "nodev", "noexec"),
	)
	head, ms := splitMountinfo(t, e.mustRunContainer(b))
	want := []string{"content", "rw-ok", "ro-refused", "noexec-refused", "ran"}
	if got := outputLines(head); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(src, "new")); err != nil {
		t.Errorf("file written through the bind is not in the source: %v", err)
	}
	check := func(point string, has []string, hasNot []string) {
		t.Helper()
		m := topMount(t, ms, point)
		for _, o := range has {
			if !m.hasOpt(o) {
				t.Errorf("%s: options %q lack %s", point, m.Opts, o)
			}
		}
		for _, o := range hasNot {
			if m.hasOpt(o) {
				t.Errorf("%s: options %q have %s", point, m.Opts, o)
			}
		}
	}
	check("/b/rw", []string{"rw"}, []string{"ro", "nosuid", "nodev", "noexec"})
	check("/b/ro", []string{"ro"}, []string{"nosuid", "nodev", "noexec"})
	check("/b/nosuid", []string{"rw", "nosuid"}, []string{"nodev", "noexec"})
	check("/b/nodev", []string{"rw", "nodev"}, []string{"nosuid", "noexec"})
	check("/b/noexec", []string{"rw", "noexec"}, []string{"nosuid", "nodev"})
	check("/b/noatime", []string{"noatime"}, []string{"relatime"})
	check("/b/relatime", []string{"relatime"}, []string{"noatime"})
	check("/b/strictatime", nil, []string{"relatime", "noatime"})
	check("/b/all", []string{"ro", "nosuid", "nodev", "noexec"}, nil)
}

func TestFeatureRecursiveBind(t *testing.T) {
	e := newEnv(t)
	src := makeHostDir(t, map[string]string{"top": "x"})
	sub := filepath.Join(src, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	mountHostTmpfs(t, sub, 0)
	if err := os.WriteFile(filepath.Join(sub, "inner"), []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `for d in bind rbind ro rro; do
		if [ -e /r/$d/sub/inner ]; then echo $d:submount; else echo $d:no-submount; fi
		touch /r/$d/t 2>/dev/null && echo $d:top-rw || echo $d:top-ro
		touch /r/$d/sub/t 2>/dev/null && echo $d:sub-rw || echo $d:sub-ro
	done`
	b := shBundle(t, withMountinfo(script))
	b.privateRootfs(t)
	mnt := func(name string, opts ...string) specs.Mount {
		return specs.Mount{Destination: "/r/" + name, Type: "bind", Source: src, Options: opts}
	}
	b.Spec.Mounts = append(b.Spec.Mounts,
		mnt("bind", "bind"),
		mnt("rbind", "rbind"),
		mnt("ro", "rbind", "ro"),
		mnt("rro", "rbind", "rro"),
		mnt("rattrs", "rbind", "rnosuid", "rnodev", "rnoexec", "rnoatime"),
	)
	head, ms := splitMountinfo(t, e.mustRunContainer(b))
	got := outputLines(head)
	want := []string{
		"bind:no-submount", "bind:top-rw", "bind:sub-rw",
		"rbind:submount", "rbind:top-rw", "rbind:sub-rw",
		// ro on a recursive bind covers its top mount only.
		"ro:submount", "ro:top-ro", "ro:sub-rw",
		"rro:submount", "rro:top-ro", "rro:sub-ro",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q\nwant %q", got, want)
	}
	for _, p := range []string{"/r/rattrs", "/r/rattrs/sub"} {
		m := topMount(t, ms, p)
		for _, o := range []string{"nosuid", "nodev", "noexec", "noatime"} {
			if !m.hasOpt(o) {
				t.Errorf("%s: options %q lack %s", p, m.Opts, o)
			}
		}
	}
	for _, p := range []string{"/r/rbind/sub", "/r/ro/sub"} {
		if m := topMount(t, ms, p); m.hasOpt("ro") || m.hasOpt("noexec") {
			t.Errorf("%s: options %q, want the submount's own", p, m.Opts)
		}
	}
}

func TestFeatureMountPropagationOptions(t *testing.T) {
	e := newEnv(t)
	// The source is a shared mount on the host, so the container's copy
	// of it is a slave (the rootfs is made rslave) and binds of it are too.
	src := t.TempDir()
	mountHostTmpfs(t, src, unix.MS_SHARED)
	b := shBundle(t, withMountinfo("true"))
	b.privateRootfs(t)
	mnt := func(dest string, opts ...string) specs.Mount {
		return specs.Mount{Destination: dest, Type: "bind", Source: src, Options: append([]string{"rbind"}, opts...)}
	}
	b.Spec.Mounts = append(b.Spec.Mounts,
		mnt("/p/default"),
		mnt("/p/private", "private"),
		mnt("/p/rprivate", "rprivate"),
		mnt("/p/shared", "shared"),
		mnt("/p/rshared", "rshared"),
		mnt("/p/slave", "slave"),
		mnt("/p/rslave", "rslave"),
		mnt("/p/unbindable", "unbindable"),
		mnt("/p/runbindable", "runbindable"),
		specs.Mount{Destination: "/p/tmpfs-shared", Type: "tmpfs", Source: "tmpfs", Options: []string{"shared"}},
	)
	_, ms := splitMountinfo(t, e.mustRunContainer(b))
	cases := []struct {
		point                      string
		shared, master, unbindable bool
	}{
		{"/p/default", false, true, false},
		{"/p/private", false, false, false},
		{"/p/rprivate", false, false, false},
		{"/p/shared", true, true, false},
		{"/p/rshared", true, true, false},
		{"/p/slave", false, true, false},
		{"/p/rslave", false, true, false},
		{"/p/unbindable", false, false, true},
		{"/p/runbindable", false, false, true},
		{"/p/tmpfs-shared", true, false, false},
	}
	for _, c := range cases {
		m := topMount(t, ms, c.point)
		if (m.propagation("shared:") != "") != c.shared || (m.propagation("master:") != "") != c.master || (m.propagation("unbindable") != "") != c.unbindable {
			t.Errorf("%s: optional fields %q, want shared %v, master %v, unbindable %v", c.point, m.Optional, c.shared, c.master, c.unbindable)
		}
	}
}

func TestFeatureMountDestinationCreation(t *testing.T) {
	e := newEnv(t)
	src := makeHostDir(t, map[string]string{"file": "file content\n", "dir/inner": "inner\n"})
	b := shBundle(t, "cat /new/deep/file.txt; cat /also/new/dir/inner; stat -c %F /new/deep/file.txt /also/new/dir /t1/t2/t3")
	rootfs := b.privateRootfs(t)
	b.Spec.Mounts = append(b.Spec.Mounts,
		specs.Mount{Destination: "/new/deep/file.txt", Type: "bind", Source: filepath.Join(src, "file"), Options: []string{"bind", "ro"}},
		specs.Mount{Destination: "/also/new/dir", Type: "bind", Source: filepath.Join(src, "dir"), Options: []string{"rbind"}},
		specs.Mount{Destination: "t1/t2/t3", Type: "tmpfs", Source: "tmpfs"},
	)
	got := outputLines(e.mustRunContainer(b))
	want := []string{"file content", "inner", "regular file", "directory", "directory"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %q, want %q", got, want)
	}
	// The mount points were made in the rootfs.
	for p, dir := range map[string]bool{"new/deep/file.txt": false, "also/new/dir": true, "t1/t2/t3": true} {
		fi, err := os.Lstat(filepath.Join(rootfs, p))
		if err != nil || fi.IsDir() != dir {
			t.Errorf("mount point %s in the rootfs: %v (dir %v)", p, err, fi != nil && fi.IsDir())
		}
	}
	// A relative bind source is taken from the bundle.
	if err := os.WriteFile(filepath.Join(b.Dir, "rel-source"), []byte("bundle file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b2 := shBundle(t, "cat /etc/rel")
	b2.Dir = b.Dir
	b2.Spec.Root.Path = rootfs
	b2.Spec.Mounts = append(b2.Spec.Mounts, specs.Mount{Destination: "/etc/rel", Type: "bind", Source: "rel-source", Options: []string{"bind"}})
	if got := strings.TrimSpace(e.mustRunContainer(b2)); got != "bundle file" {
		t.Errorf("relative bind source: %q", got)
	}
}

// TestFeatureMountDestinationSymlink checks that a mount destination that
// is a symlink in the rootfs is resolved inside the rootfs, whatever it
// points at (CVE-2021-30465 and kin): the host path it names stays
// untouched, and the mount lands on the same path inside the rootfs.
func TestFeatureMountDestinationSymlink(t *testing.T) {
	e := newEnv(t)
	victim := makeHostDir(t, map[string]string{"sentinel": "host\n"})
	victimFile := filepath.Join(victim, "sentinel")
	victim2 := makeHostDir(t, map[string]string{"sentinel2": "host\n"})
	src := makeHostDir(t, map[string]string{"payload": "from bind\n"})
	fileSrc := filepath.Join(src, "payload")
	links := map[string]string{
		"abs":       victim,                                    // absolute
		"rel":       "../../../../../../../../../.." + victim2, // climbs with ..
		"file-link": victimFile,                                // to a host file
	}
	mounts := []specs.Mount{
		{Destination: "/abs", Type: "tmpfs", Source: "tmpfs"},
		{Destination: "/rel", Type: "bind", Source: src, Options: []string{"bind"}},
		{Destination: "/file-link", Type: "bind", Source: fileSrc, Options: []string{"bind"}},
	}
	checkHost := func(t *testing.T) {
		t.Helper()
		for dir, only := range map[string]string{victim: "sentinel", victim2: "sentinel2"} {
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 || entries[0].Name() != only {
				var names []string
				for _, en := range entries {
					names = append(names, en.Name())
				}
				t.Errorf("host directory %s behind a link changed: %q", dir, names)
			}
			if under := hostMountsUnder(t, dir); len(under) > 0 {
				t.Errorf("mounts on the host under %s: %q", dir, under)
			}
		}
		if s := readHostFile(t, victimFile); s != "host\n" {
			t.Errorf("host file behind the link now holds %q", s)
		}
	}
	makeRootfs := func(t *testing.T, b *bundle) string {
		rootfs := b.privateRootfs(t)
		for name, target := range links {
			if err := os.Symlink(target, filepath.Join(rootfs, name)); err != nil {
				t.Fatal(err)
			}
		}
		b.Spec.Mounts = append(b.Spec.Mounts, mounts...)
		return rootfs
	}

	t.Run("targets in rootfs", func(t *testing.T) {
		e := e.sub(t)
		// The links' targets exist inside the rootfs, as in an image.
		script := `ls -A /abs | wc -l; touch /abs/written-to-tmpfs;
			ls -A /rel; touch /rel/written-through-bind;
			cat /file-link; echo overwritten > /file-link`
		b := shBundle(t, script)
		rootfs := makeRootfs(t, b)
		inside := filepath.Join(rootfs, victim)
		for _, d := range []string{inside, filepath.Join(rootfs, victim2)} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(inside, "sentinel"), []byte("rootfs copy\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		got := outputLines(e.mustRunContainer(b))
		want := []string{"0", "payload", "from bind"}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("got %q, want %q (an empty tmpfs, then the bind at the links)", got, want)
		}
		checkHost(t)
		if s := readHostFile(t, fileSrc); s != "overwritten\n" {
			t.Errorf("bind source holds %q, want the container's write", s)
		}
		if _, err := os.Stat(filepath.Join(src, "written-through-bind")); err != nil {
			t.Errorf("write through the directory bind: %v", err)
		}
		if s := readHostFile(t, filepath.Join(inside, "sentinel")); s != "rootfs copy\n" {
			t.Errorf("rootfs file under the bind changed: %q", s)
		}
	})
	t.Run("dangling", func(t *testing.T) {
		e := e.sub(t)
		// The links' targets are missing in the rootfs: the runtime may
		// create them inside the rootfs or refuse, never touch the host.
		b := shBundle(t, "true")
		rootfs := makeRootfs(t, b)
		out, stderr, code := e.runContainer(b)
		if code != 0 {
			t.Logf("refused (allowed): exit %d: %s%s", code, stderr, out)
		} else {
			for _, d := range []string{victim, victim2} {
				if _, err := os.Stat(filepath.Join(rootfs, d)); err != nil {
					t.Errorf("mount point not created inside the rootfs: %v", err)
				}
			}
		}
		checkHost(t)
	})
}

func TestFeatureDefaultDevices(t *testing.T) {
	e := newEnv(t)
	script := `stat -c '%n %F %t:%T %a %u:%g' /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty;
		echo x > /dev/null && echo null-ok;
		head -c 5 /dev/zero | wc -c;
		echo x 2>/dev/null > /dev/full || echo full-refused;
		head -c 8 /dev/urandom | wc -c`
	got := outputLines(e.mustRunContainer(shBundle(t, script)))
	want := []string{
		"/dev/null character special file 1:3 666 0:0",
		"/dev/zero character special file 1:5 666 0:0",
		"/dev/full character special file 1:7 666 0:0",
		"/dev/random character special file 1:8 666 0:0",
		"/dev/urandom character special file 1:9 666 0:0",
		"/dev/tty character special file 5:0 666 0:0",
		"null-ok", "5", "full-refused", "8",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestFeatureLinuxDevices(t *testing.T) {
	e := newEnv(t)
	mode := os.FileMode(0o600)
	fifoMode := os.FileMode(0o640)
	uid, gid := uint32(1000), uint32(1001)
	b := shBundle(t, `stat -c '%n %F %t:%T %a %u:%g' /dev/mynull /dev/sub/dir/myzero /dev/myfifo /dev/null; echo x > /dev/null && echo written`)
	b.Spec.Linux.Devices = []specs.LinuxDevice{
		{Path: "/dev/mynull", Type: "c", Major: 1, Minor: 3, FileMode: &mode, UID: &uid, GID: &gid},
		{Path: "/dev/sub/dir/myzero", Type: "c", Major: 1, Minor: 5},
		{Path: "/dev/myfifo", Type: "p", FileMode: &fifoMode},
		// Overrides the default /dev/null's mode.
		{Path: "/dev/null", Type: "c", Major: 1, Minor: 3, FileMode: &mode},
	}
	got := outputLines(e.mustRunContainer(b))
	want := []string{
		"/dev/mynull character special file 1:3 600 1000:1001",
		"/dev/sub/dir/myzero character special file 1:5 666 0:0",
		"/dev/myfifo fifo 0:0 640 0:0",
		"/dev/null character special file 1:3 600 0:0",
		"written",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestFeatureDevLinksPtsShm(t *testing.T) {
	e := newEnv(t)
	script := withMountinfo(`for l in fd stdin stdout stderr ptmx; do echo "$l -> $(readlink /dev/$l)"; done;
		(echo to-stdout > /dev/stdout; echo to-stderr > /dev/stderr) 2>&1 | cat; ls /dev/fd/ | grep -qx 0 && echo fd-lists;
		echo from-stdin | cat /dev/stdin; stat -c '%a' /dev/shm;
		stat -c '%F %t:%T' /dev/pts/ptmx;
		echo shm > /dev/shm/f && cat /dev/shm/f`)
	b := shBundle(t, script)
	head, ms := splitMountinfo(t, e.mustRunContainer(b))
	want := []string{
		"fd -> /proc/self/fd", "stdin -> /proc/self/fd/0", "stdout -> /proc/self/fd/1",
		"stderr -> /proc/self/fd/2", "ptmx -> pts/ptmx",
		"to-stdout", "to-stderr", "fd-lists", "from-stdin", "1777", "character special file 5:2", "shm",
	}
	if got := outputLines(head); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if m := topMount(t, ms, "/dev/pts"); m.FSType != "devpts" || !m.hasSuper("mode=620") {
		t.Errorf("/dev/pts: %+v", m)
	}
	if m := topMount(t, ms, "/dev/shm"); m.FSType != "tmpfs" || !m.hasSuper("size=65536k") || !m.hasOpt("noexec") {
		t.Errorf("/dev/shm: %+v", m)
	}
	// The container's devpts is its own instance: no pty of the host.
	if _, err := os.Stat("/dev/pts/0"); err == nil {
		b := shBundle(t, "ls /dev/pts")
		if got := outputLines(e.mustRunContainer(b)); strings.Join(got, ",") != "ptmx" {
			t.Errorf("/dev/pts in the container lists %q, want only ptmx", got)
		}
	}
}

func TestFeatureMaskedPaths(t *testing.T) {
	e := newEnv(t)
	// Masked /proc files read empty, masked directories list nothing; of
	// the default list, check those this kernel has.
	var files, dirs []string
	for _, p := range []string{"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug"} {
		if _, err := os.Stat(p); err == nil {
			files = append(files, p)
		}
	}
	for _, p := range []string{"/proc/acpi", "/proc/scsi", "/sys/firmware"} {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			dirs = append(dirs, p)
		}
	}
	files = append(files, "/secret-file")
	dirs = append(dirs, "/secret-dir")
	var script strings.Builder
	for _, f := range files {
		fmt.Fprintf(&script, "echo %s $(wc -c < %s);", f, f)
	}
	for _, d := range dirs {
		fmt.Fprintf(&script, "echo %s $(ls -A %s | wc -l);", d, d)
	}
	script.WriteString("touch /secret-dir/x 2>/dev/null || echo dir-ro; echo x > /secret-file 2>/dev/null; cat /visible")
	b := shBundle(t, script.String())
	rootfs := b.privateRootfs(t)
	for name, content := range map[string]string{"secret-dir/a": "a", "secret-dir/b": "b", "secret-file": "hidden", "visible": "shown"} {
		p := filepath.Join(rootfs, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b.Spec.Linux.MaskedPaths = append(b.Spec.Linux.MaskedPaths, "/secret-dir", "/secret-file", "/does-not-exist")
	got := outputLines(e.mustRunContainer(b))
	var want []string
	for _, p := range append(files, dirs...) {
		want = append(want, p+" 0")
	}
	want = append(want, "dir-ro", "shown")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q\nwant %q", got, want)
	}
	// The masked files are unchanged underneath.
	if s := readHostFile(t, filepath.Join(rootfs, "secret-file")); s != "hidden" {
		t.Errorf("masked file changed in the rootfs: %q", s)
	}
}

func TestFeatureReadonlyPaths(t *testing.T) {
	e := newEnv(t)
	script := `echo changed > /proc/sys/kernel/hostname 2>/dev/null || echo proc-sys-ro; hostname;
		touch /data/x 2>/dev/null || echo data-ro; cat /data/f; touch /tmp/x && echo tmp-rw`
	b := shBundle(t, script)
	b.Spec.Hostname = "ro-test"
	rootfs := b.privateRootfs(t)
	if err := os.MkdirAll(filepath.Join(rootfs, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "data/f"), []byte("readable\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.Spec.Linux.ReadonlyPaths = append(b.Spec.Linux.ReadonlyPaths, "/data", "/does-not-exist")
	got := outputLines(e.mustRunContainer(b))
	want := []string{"proc-sys-ro", "ro-test", "data-ro", "readable", "tmp-rw"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestFeatureSysctl(t *testing.T) {
	e := newEnv(t)
	hostFwd := readHostFile(t, "/proc/sys/net/ipv4/ip_forward")
	hostShm := readHostFile(t, "/proc/sys/kernel/shmmax")
	b := shBundle(t, "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax /proc/sys/kernel/msgmax")
	b.Spec.Linux.Sysctl = map[string]string{
		"net.ipv4.ip_forward": "1",
		"kernel.shmmax":       "123456789",
		"kernel.msgmax":       "4321",
	}
	got := outputLines(e.mustRunContainer(b))
	want := []string{"1", "123456789", "4321"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got %q, want %q", got, want)
	}
	if now := readHostFile(t, "/proc/sys/net/ipv4/ip_forward"); now != hostFwd {
		t.Errorf("host ip_forward changed from %q to %q", hostFwd, now)
	}
	if now := readHostFile(t, "/proc/sys/kernel/shmmax"); now != hostShm {
		t.Errorf("host shmmax changed from %q to %q", hostShm, now)
	}

	t.Run("not namespaced", func(t *testing.T) {
		e := e.sub(t)
		before := readHostFile(t, "/proc/sys/kernel/core_pattern")
		b := shBundle(t, "true")
		b.Spec.Linux.Sysctl = map[string]string{"kernel.core_pattern": "|/bin/false"}
		stderr := e.createFails(b)
		if !strings.Contains(stderr, "kernel.core_pattern") || !strings.Contains(stderr, "linux.sysctl") {
			t.Errorf("non-namespaced sysctl: %q", stderr)
		}
		if after := readHostFile(t, "/proc/sys/kernel/core_pattern"); after != before {
			t.Errorf("host core_pattern changed to %q", after)
		}
	})
	t.Run("no namespace", func(t *testing.T) {
		e := e.sub(t)
		b := shBundle(t, "true")
		b.dropNamespace(specs.NetworkNamespace)
		b.Spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		if stderr := e.createFails(b); !strings.Contains(stderr, "net.ipv4.ip_forward") || !strings.Contains(stderr, "network namespace") {
			t.Errorf("net sysctl without a network namespace: %q", stderr)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		e := e.sub(t)
		b := shBundle(t, "true")
		b.Spec.Linux.Sysctl = map[string]string{"net.ipv4.no_such_sysctl": "1"}
		if stderr := e.createFails(b); !strings.Contains(stderr, "net.ipv4.no_such_sysctl") {
			t.Errorf("unknown sysctl: %q", stderr)
		}
	})
}
