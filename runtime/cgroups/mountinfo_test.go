package cgroups

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParseMountinfoLine(t *testing.T) {
	tests := []struct {
		name string
		line string
		mode Mode
		ok   bool
		want hierarchy
	}{
		{
			name: "v1 controller",
			line: "35 31 0:32 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory",
			mode: V1, ok: true,
			want: hierarchy{name: "memory", mountpoint: "/sys/fs/cgroup/memory", root: "/"},
		},
		{
			name: "v1 co-mounted controllers",
			line: "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,cpu,cpuacct",
			mode: V1, ok: true,
			want: hierarchy{name: "cpu,cpuacct", mountpoint: "/sys/fs/cgroup/cpu,cpuacct", root: "/"},
		},
		{
			name: "v1 named hierarchy with agent and xattr",
			line: "26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd",
			mode: V1, ok: true,
			want: hierarchy{name: "name=systemd", mountpoint: "/sys/fs/cgroup/systemd", root: "/"},
		},
		{
			name: "v1 cpuset with kernel options",
			line: "34 31 0:31 / /sys/fs/cgroup/cpuset ro,relatime - cgroup cgroup ro,cpuset,noprefix,clone_children,cpuset_v2_mode,favordynmods",
			mode: V1, ok: true,
			want: hierarchy{name: "cpuset", mountpoint: "/sys/fs/cgroup/cpuset", root: "/"},
		},
		{
			name: "v1 with no optional fields",
			line: "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
			mode: V1, ok: true,
			want: hierarchy{name: "cpu", mountpoint: "/sys/fs/cgroup/cpu", root: "/"},
		},
		{
			name: "v1 with several optional fields",
			line: "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime shared:5 master:2 propagate_from:1 unbindable - cgroup cgroup rw,cpu",
			mode: V1, ok: true,
			want: hierarchy{name: "cpu", mountpoint: "/sys/fs/cgroup/cpu", root: "/"},
		},
		{
			name: "v1 mounted from a sub-cgroup (inside a container)",
			line: "700 690 0:32 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory",
			mode: V1, ok: true,
			want: hierarchy{name: "memory", mountpoint: "/sys/fs/cgroup/memory", root: "/docker/abc"},
		},
		{
			name: "v1 with only generic options",
			line: "32 31 0:29 / /mnt rw - cgroup cgroup rw,xattr,noprefix",
			mode: V1, ok: false,
		},
		{
			name: "v1 line on a v2 host",
			line: "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory",
			mode: V2, ok: false,
		},
		{
			name: "hybrid unified",
			line: "41 31 0:38 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate",
			mode: V1, ok: true,
			want: hierarchy{name: "unified", mountpoint: "/sys/fs/cgroup/unified", root: "/"},
		},
		{
			name: "v2",
			line: "29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot",
			mode: V2, ok: true,
			want: hierarchy{name: "", mountpoint: "/sys/fs/cgroup", root: "/"},
		},
		{
			name: "v2 in a cgroup namespace",
			line: "29 23 0:26 /../../system.slice /sys/fs/cgroup rw - cgroup2 cgroup2 rw",
			mode: V2, ok: true,
			want: hierarchy{name: "", mountpoint: "/sys/fs/cgroup", root: "/../../system.slice"},
		},
		{
			name: "v2 mounted elsewhere on a v2 host",
			line: "90 23 0:26 / /run/other rw - cgroup2 cgroup2 rw",
			mode: V2, ok: false,
		},
		{
			name: "escaped mountpoint",
			line: `50 31 0:40 / /mnt/my\040cgroups/mem\134ory rw - cgroup cgroup rw,memory`,
			mode: V1, ok: true,
			want: hierarchy{name: "memory", mountpoint: `/mnt/my cgroups/mem\ory`, root: "/"},
		},
		{
			name: "escaped root",
			line: `50 31 0:40 /a\011b /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids`,
			mode: V1, ok: true,
			want: hierarchy{name: "pids", mountpoint: "/sys/fs/cgroup/pids", root: "/a\tb"},
		},
		{
			name: "mountpoint that looks like a separator",
			line: `50 31 0:40 / /mnt/a\040-\040b rw - cgroup cgroup rw,pids`,
			mode: V1, ok: true,
			want: hierarchy{name: "pids", mountpoint: "/mnt/a - b", root: "/"},
		},
		{"tmpfs", "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755", V1, false, hierarchy{}},
		{"proc", "22 1 0:5 / /proc rw - proc proc rw", V2, false, hierarchy{}},
		{"empty", "", V1, false, hierarchy{}},
		{"no separator", "35 31 0:32 / /sys/fs/cgroup/memory rw cgroup cgroup rw,memory", V1, false, hierarchy{}},
		{"too few fields before separator", "35 31 / - cgroup cgroup rw,memory", V1, false, hierarchy{}},
		{"too few fields after separator", "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup", V1, false, hierarchy{}},
		{"only separator", " - ", V1, false, hierarchy{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseMountinfoLine(tc.line, tc.mode)
			if ok != tc.ok {
				t.Fatalf("parseMountinfoLine(%q, %s) ok = %v, want %v (%+v)", tc.line, tc.mode, ok, tc.ok, got)
			}
			if ok && got != tc.want {
				t.Fatalf("parseMountinfoLine(%q, %s)\n got %+v\nwant %+v", tc.line, tc.mode, got, tc.want)
			}
		})
	}
}

func TestUnescape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"/plain/path", "/plain/path"},
		{`\040`, " "},
		{`a\040b\011c\012d\134e`, "a b\tc\nd\\e"},
		{`\\`, `\\`},
		{`\04`, `\04`},      // too short: kept
		{`a\`, `a\`},        // trailing backslash
		{`\0400`, " 0"},     // three digits only
		{`\08a`, `\08a`},    // 8 is not octal
		{`\x41`, `\x41`},    // not an escape
		{`\134040`, `\040`}, // an escaped backslash followed by digits
		{`\000`, "\x00"},    // NUL
		{`\377`, "\xff"},    // highest byte
		{`\040\040`, "  "},  // consecutive
		{`end\040`, "end "}, // at the end
		{`\\040`, `\ `},     // backslash, then an escape
		{`x\0`, `x\0`},      // cut short at the end
		{`\1234`, "S4"},     // \123 is 'S'
		{`/a\134\040b`, `/a\ b`},
	}
	for _, tc := range tests {
		if got := unescape(tc.in); got != tc.want {
			t.Errorf("unescape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// mangle escapes s as the kernel does in /proc/self/mountinfo.
func mangle(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\n', '\\':
			b.WriteByte('\\')
			b.WriteByte('0' + c>>6)
			b.WriteByte('0' + c>>3&7)
			b.WriteByte('0' + c&7)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func TestUnescapeUndoesMangle(t *testing.T) {
	for _, s := range []string{"/a b", "/tab\there", "/nl\nx", `/back\slash`, `/\040literal`, "/all \t\n\\"} {
		if got := unescape(mangle(s)); got != s {
			t.Errorf("unescape(mangle(%q)) = %q", s, got)
		}
	}
}

// TestHierarchiesOfThisHost parses the real mountinfo of the test process.
func TestHierarchiesOfThisHost(t *testing.T) {
	mode, err := HostMode("/sys/fs/cgroup")
	if err != nil {
		t.Skipf("no cgroup filesystem: %v", err)
	}
	hs, err := hierarchies(mode, nil)
	if err != nil {
		t.Skipf("no cgroup hierarchy: %v", err)
	}
	seen := map[string]bool{}
	for _, h := range hs {
		if seen[h.name] {
			t.Errorf("hierarchy %q listed twice", h.name)
		}
		seen[h.name] = true
		if fi, err := os.Stat(h.mountpoint); err != nil || !fi.IsDir() {
			t.Errorf("hierarchy %q: mountpoint %q: %v", h.name, h.mountpoint, err)
		}
		if !strings.HasPrefix(h.root, "/") {
			t.Errorf("hierarchy %q: root %q is not absolute", h.name, h.root)
		}
	}
	if mode == V2 && (len(hs) != 1 || hs[0].name != "") {
		t.Errorf("v2 host: hierarchies %+v, want the unified one only", hs)
	}
}

// FuzzParseMountinfoLine: never panics, and what it returns is consistent
// with the line.
func FuzzParseMountinfoLine(f *testing.F) {
	for _, s := range []string{
		"35 31 0:32 / /sys/fs/cgroup/memory rw,nosuid shared:15 - cgroup cgroup rw,memory",
		"26 25 0:23 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,release_agent=/x,name=systemd",
		"41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate",
		"29 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw",
		`50 31 0:40 /\134 /mnt/a\040-\040b rw - cgroup cgroup rw,pids`,
		" - ",
		" -  - cgroup cgroup rw,memory",
		"1 2 3 4 5 - cgroup2",
		`1 2 3 \ \\ - cgroup x ,,,`,
		"\x00 - \x00",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, line string, v2 bool) {
		mode := V1
		if v2 {
			mode = V2
		}
		h, ok := parseMountinfoLine(line, mode)
		if !ok {
			if h != (hierarchy{}) {
				t.Fatalf("not ok, but returned %+v", h)
			}
			return
		}
		if !strings.Contains(line, " - cgroup") {
			t.Fatalf("hierarchy %+v from a line that mounts no cgroup filesystem", h)
		}
		switch {
		case mode == V2 && (h.name != "" || h.mountpoint != "/sys/fs/cgroup"):
			t.Fatalf("v2: %+v", h)
		case mode == V1 && h.name == "":
			t.Fatalf("v1 hierarchy without a name: %+v", h)
		}
		if strings.Contains(h.name, " ") {
			t.Fatalf("name %q holds a space", h.name)
		}
	})
}

// FuzzUnescape: unescape never panics, never grows its input, and undoes
// the kernel's escaping.
func FuzzUnescape(f *testing.F) {
	for _, s := range []string{"", `\040`, `\`, `\\\`, `\777`, `\0400`, "/a b\\c\t\n", `\134040`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if u := unescape(s); len(u) > len(s) {
			t.Fatalf("unescape(%q) = %q grew", s, u)
		}
		if got := unescape(mangle(s)); got != s {
			t.Fatalf("unescape(mangle(%q)) = %q", s, got)
		}
	})
}

// tripwire is mountinfo text that fails the read after its first part:
// scanHierarchies must not read past what it wants.
type tripwire struct {
	first []byte
	done  bool
}

func (r *tripwire) Read(p []byte) (int, error) {
	if r.done {
		return 0, errors.New("read past the wanted hierarchies")
	}
	r.done = true
	return copy(p, r.first), nil
}

func TestScanHierarchiesStopsWhenFound(t *testing.T) {
	v1 := "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n" +
		"33 31 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n" +
		"34 31 0:31 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
	hs, err := scanHierarchies(&tripwire{first: []byte(v1)}, V1,
		map[string]bool{"cpu,cpuacct": true, "memory": true, "name=systemd": true})
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 3 || hs[0].name != "cpu,cpuacct" || hs[2].name != "name=systemd" {
		t.Errorf("hierarchies %+v", hs)
	}
	v2 := "29 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
	if hs, err := scanHierarchies(&tripwire{first: []byte(v2)}, V2, map[string]bool{"": true}); err != nil || len(hs) != 1 {
		t.Errorf("v2: %+v, %v", hs, err)
	}
	// One that is not mounted: all of it is read, and the rest is kept.
	all := v1 + strings.Repeat("90 31 0:50 / /var/lib/x rw - overlay overlay rw,lowerdir=/a\n", 100) +
		"99 31 0:51 / /mnt/pids rw - cgroup cgroup rw,pids\n"
	hs, err = scanHierarchies(strings.NewReader(all), V1, map[string]bool{"memory": true, "blkio": true})
	if err != nil || len(hs) != 4 || hs[3].name != "pids" {
		t.Errorf("with a hierarchy not mounted: %+v, %v", hs, err)
	}
}

// TestWantedOfThisHost: what ReadHost reads of this host's mountinfo gives
// the hierarchies a whole read gives.
func TestWantedOfThisHost(t *testing.T) {
	mode, hs, own := hostHierarchies(t)
	got, err := hierarchies(mode, wanted(mode, own))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, hs) {
		t.Errorf("with wanted(%v): %+v\nwhole mountinfo: %+v", wanted(mode, own), got, hs)
	}
}
