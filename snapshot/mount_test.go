package snapshot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSplitJoinLowerDirs(t *testing.T) {
	cases := map[string][]string{
		"a":           {"a"},
		"a:b:c":       {"a", "b", "c"},
		`a\:b:c`:      {"a:b", "c"},
		`a\\:b`:       {`a\`, "b"},
		"":            {""},
		"a::b":        {"a", "", "b"},
		`trailing\`:   {`trailing\`},
		"/x/l/AB:/y/": {"/x/l/AB", "/y/"},
	}
	for in, want := range cases {
		if got := SplitLowerDirs(in); !reflect.DeepEqual(got, want) {
			t.Errorf("SplitLowerDirs(%q) = %q, want %q", in, got, want)
		}
	}
	dirs := []string{"/a:b", `/c\d`, "/e"}
	if got := SplitLowerDirs(JoinLowerDirs(dirs)); !reflect.DeepEqual(got, dirs) {
		t.Errorf("round trip: %q", got)
	}
}

func TestParseOptions(t *testing.T) {
	o, err := ParseOptions([]string{"rbind", "ro", "nosuid", "lowerdir=a:b", "index=off", "rw", "userxattr"})
	if err != nil {
		t.Fatal(err)
	}
	if o.Flags != unix.MS_BIND|unix.MS_REC|unix.MS_NOSUID {
		t.Errorf("flags %#x", o.Flags)
	}
	if o.Attrs != unix.MOUNT_ATTR_NOSUID {
		t.Errorf("attrs %#x", o.Attrs)
	}
	if o.Data() != "lowerdir=a:b,index=off,userxattr" {
		t.Errorf("data %q", o.Data())
	}
	for _, bad := range [][]string{{""}, {"a\x00b"}} {
		if _, err := ParseOptions(bad); err == nil {
			t.Errorf("ParseOptions(%q) accepted", bad)
		}
	}
}

func TestCommonDirAndCompact(t *testing.T) {
	if got := commonDir([]string{"/r/l/AAA", "/r/l/BBB", "/r/l/CCC"}); got != "/r/l" {
		t.Errorf("commonDir = %q", got)
	}
	if got := commonDir([]string{"/r/l/A", "/r/lx/B"}); got != "/r" {
		t.Errorf("commonDir with a shared name prefix = %q", got)
	}
	if got := commonDir([]string{"/a/x", "rel"}); got != "" {
		t.Errorf("commonDir with a relative path = %q", got)
	}
	dir, lower, other := compactOverlay(
		[]string{"/very/long/root/l/AAAAAA", "/very/long/root/l/BBBBBB"},
		[]string{"upperdir=/very/long/root/snapshots/3/fs", "workdir=/elsewhere/w", "index=off"})
	if dir != "/very/long/root/l" || !reflect.DeepEqual(lower, []string{"AAAAAA", "BBBBBB"}) {
		t.Errorf("compact: %q %q", dir, lower)
	}
	if !reflect.DeepEqual(other, []string{"upperdir=../snapshots/3/fs", "workdir=/elsewhere/w", "index=off"}) {
		t.Errorf("compact other: %q", other)
	}
}

func TestParseOverlayErrors(t *testing.T) {
	many := make([]string, MaxLayers+1)
	for i := range many {
		many[i] = fmt.Sprintf("/l/%d", i)
	}
	cases := map[string][]string{
		"no lowerdir":     {"upperdir=/u"},
		"two lowerdirs":   {"lowerdir=/a", "lowerdir=/b"},
		"empty lower":     {"lowerdir=/a::/b"},
		"too many layers": {"lowerdir=" + strings.Join(many, ":")},
	}
	for name, opts := range cases {
		o, err := ParseOptions(opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parseOverlay(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	o, _ := ParseOptions(cases["too many layers"])
	if _, err := parseOverlay(o); !errors.Is(err, ErrTooManyLayers) {
		t.Errorf("too many layers: %v", err)
	}
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount")
	}
}

// mountOptions returns the super options /proc/self/mountinfo shows for
// the mount at target.
func mountOptions(t *testing.T, target string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 5 && f[4] == target {
			return f[len(f)-1]
		}
	}
	t.Fatalf("%s not mounted", target)
	return ""
}

func mustUnmount(t *testing.T, target string) {
	t.Cleanup(func() {
		if err := Unmount(target); err != nil {
			t.Error(err)
		}
	})
}

// layers makes n lower directories (file "f" in each says its index, file
// "i" exists only in layer i) with names long enough that their absolute
// paths overflow a page, plus upper and work.
func layers(t *testing.T, n int) (lower []string, upper, work string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), strings.Repeat("r", 200))
	for i := range n {
		d := filepath.Join(root, "l", fmt.Sprintf("%06d", i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "f"), []byte(fmt.Sprint(i)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, fmt.Sprint(i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		lower = append(lower, d)
	}
	upper, work = filepath.Join(root, "upper"), filepath.Join(root, "work")
	for _, d := range []string{upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return lower, upper, work
}

func TestMountOverlayLong(t *testing.T) {
	needRoot(t)
	lower, upper, work := layers(t, 40)
	m := Mount{Type: "overlay", Source: "overlay", Options: []string{
		"lowerdir=" + JoinLowerDirs(lower), "upperdir=" + upper, "workdir=" + work, "index=off"}}
	if n := len(strings.Join(m.Options, ",")); n < 8192 {
		t.Fatalf("options only %d bytes", n)
	}
	for _, mr := range []Mounter{{}, {LegacyOverlay: true}} {
		t.Run(fmt.Sprint("legacy=", mr.LegacyOverlay), func(t *testing.T) {
			target := t.TempDir()
			if err := mr.MountAll([]Mount{m}, target); err != nil {
				t.Fatal(err)
			}
			mustUnmount(t, target)
			b, err := os.ReadFile(filepath.Join(target, "f"))
			if err != nil || string(b) != "0" {
				t.Errorf("top file: %q %v", b, err)
			}
			if _, err := os.Stat(filepath.Join(target, "39")); err != nil {
				t.Errorf("bottom layer's file: %v", err)
			}
			opts := mountOptions(t, target)
			// The legacy path gave the layers relative to their parent.
			if mr.LegacyOverlay && !strings.Contains(opts, "lowerdir=000000:000001") {
				t.Errorf("legacy mount options %q lack relative lowers", opts)
			}
			if err := os.WriteFile(filepath.Join(target, "new"), nil, 0o644); err != nil {
				t.Errorf("write: %v", err)
			}
			if err := os.Remove(filepath.Join(upper, "new")); err != nil {
				t.Errorf("write did not reach upper: %v", err)
			}
		})
	}
}

func TestMountOverlayLegacyTooLong(t *testing.T) {
	needRoot(t)
	lower := make([]string, 400)
	for i := range lower {
		lower[i] = "/nonexistent/" + strings.Repeat("x", 20) + fmt.Sprint(i)
	}
	m := Mount{Type: "overlay", Options: []string{"lowerdir=" + JoinLowerDirs(lower)}}
	err := Mounter{LegacyOverlay: true}.MountAll([]Mount{m}, t.TempDir())
	if !errors.Is(err, ErrTooManyLayers) {
		t.Errorf("got %v, want ErrTooManyLayers", err)
	}
}

func TestMountBind(t *testing.T) {
	needRoot(t)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	ro, rw := t.TempDir(), t.TempDir()
	if err := MountAll([]Mount{{Type: "bind", Source: src, Options: []string{"rbind", "ro"}}}, ro); err != nil {
		t.Fatal(err)
	}
	mustUnmount(t, ro)
	if err := MountAll([]Mount{{Type: "bind", Source: src, Options: []string{"rbind", "rw"}}}, rw); err != nil {
		t.Fatal(err)
	}
	mustUnmount(t, rw)
	if err := os.WriteFile(filepath.Join(ro, "g"), nil, 0o644); !errors.Is(err, unix.EROFS) {
		t.Errorf("write to ro bind: %v", err)
	}
	if err := os.WriteFile(filepath.Join(rw, "g"), nil, 0o644); err != nil {
		t.Errorf("write to rw bind: %v", err)
	}
	// The source itself stays writable: ro applies to the bind only.
	if err := os.WriteFile(filepath.Join(src, "h"), nil, 0o644); err != nil {
		t.Errorf("source became read-only: %v", err)
	}
}

func TestMountAllUndoes(t *testing.T) {
	needRoot(t)
	target := t.TempDir()
	ms := []Mount{
		{Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}},
		{Type: "overlay", Options: []string{"lowerdir=/nonexistent/a:/nonexistent/b"}},
	}
	if err := MountAll(ms, target); err == nil {
		t.Fatal("mount of a missing lower succeeded")
	}
	if opts := mountinfoHas(t, target); opts {
		_ = Unmount(target)
		t.Error("first mount left behind after the second failed")
	}
}

func mountinfoHas(t *testing.T, target string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), " "+target+" ")
}

func TestUnmount(t *testing.T) {
	needRoot(t)
	target := t.TempDir()
	for range 3 {
		if err := MountAll([]Mount{{Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}}}, target); err != nil {
			t.Fatal(err)
		}
	}
	if err := Unmount(target); err != nil {
		t.Fatal(err)
	}
	if mountinfoHas(t, target) {
		t.Error("stacked mounts left")
	}
	if err := Unmount(target); err != nil {
		t.Errorf("unmount of a plain directory: %v", err)
	}
	if err := Unmount(filepath.Join(target, "missing")); err != nil {
		t.Errorf("unmount of a missing path: %v", err)
	}
}

// TestUnmountBusy: a mount kept busy by an open directory is detached
// lazily, so the target is free afterwards.
func TestUnmountBusy(t *testing.T) {
	needRoot(t)
	target := t.TempDir()
	if err := MountAll([]Mount{{Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}}}, target); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(target, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A mount on top of a directory inside makes the outer mount busy.
	inner := filepath.Join(target, "d")
	if err := MountAll([]Mount{{Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}}}, inner); err != nil {
		t.Fatal(err)
	}
	defer Unmount(inner)
	if err := Unmount(target); err != nil {
		t.Fatal(err)
	}
	if mountinfoHas(t, target) {
		t.Error("busy mount not detached")
	}
}

func FuzzSplitLowerDirs(f *testing.F) {
	for _, s := range []string{"a:b", `a\:b`, `\\`, "", ":::", `x\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dirs := SplitLowerDirs(s)
		if len(dirs) == 0 {
			t.Fatal("no result")
		}
		// Joining what was split and splitting again is stable.
		again := SplitLowerDirs(JoinLowerDirs(dirs))
		if !reflect.DeepEqual(dirs, again) {
			t.Fatalf("%q -> %q -> %q", s, dirs, again)
		}
	})
}

func FuzzParseOptions(f *testing.F) {
	f.Add("rbind,ro,lowerdir=a:b")
	f.Add("rw,,nosuid")
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseOptions(strings.Split(s, ","))
		if err != nil {
			return
		}
		if strings.ContainsRune(o.Data(), 0) {
			t.Fatalf("NUL in data %q", o.Data())
		}
		if ov, err := parseOverlay(o); err == nil {
			if len(ov.lower) == 0 || len(ov.lower) > MaxLayers {
				t.Fatalf("accepted %d lowers", len(ov.lower))
			}
			compactOverlay(ov.lower, ov.other)
		}
	})
}

// TestLowerdirPlus: the probe agrees with the kernel version ("lowerdir+"
// came in 6.8).
func TestLowerdirPlus(t *testing.T) {
	needRoot(t)
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	var major, minor int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &major, &minor); err != nil {
		t.Skipf("kernel release %q: %v", u.Release, err)
	}
	want := major > 6 || major == 6 && minor >= 8
	if got := lowerdirPlus(); got != want {
		t.Errorf("lowerdirPlus() = %v on kernel %d.%d", got, major, minor)
	}
}
