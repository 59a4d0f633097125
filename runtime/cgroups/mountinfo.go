package cgroups

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// hierarchy is one mounted cgroup hierarchy.
type hierarchy struct {
	name       string // key in Manager.Paths
	mountpoint string
	root       string // the hierarchy path mounted there
}

// hierarchies lists the cgroup hierarchies of the calling process's mount
// namespace that a container joins. It reads mountinfo until each
// hierarchy named in want is found (to its end if want is nil, or one is
// not mounted): a hierarchy is mounted at boot, long before the
// containers' own mounts, and the kernel formats mountinfo's lines as they
// are read, a few hundred bytes for each container on the host.
func hierarchies(mode Mode, want map[string]bool) ([]hierarchy, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	defer f.Close()
	return scanHierarchies(f, mode, want)
}

// scanHierarchies is hierarchies on the mountinfo text r.
func scanHierarchies(r io.Reader, mode Mode, want map[string]bool) ([]hierarchy, error) {
	var hs []hierarchy
	seen := map[string]bool{}
	missing := len(want)
	// Small reads: the kernel makes only the lines a read asks for.
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4<<10), 1<<20)
	for sc.Scan() {
		h, ok := parseMountinfoLine(sc.Text(), mode)
		if !ok || seen[h.name] {
			continue
		}
		seen[h.name] = true
		hs = append(hs, h)
		if want[h.name] {
			if missing--; missing == 0 {
				break
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	if len(hs) == 0 {
		return nil, fmt.Errorf("no cgroup hierarchy is mounted")
	}
	return hs, nil
}

// wanted names the hierarchies hierarchies looks for, given the process's
// own cgroups (ownCgroups): on v2 the unified one; on v1 every v1
// hierarchy the process is in, and the unified one if it is mounted where
// systemd mounts it (one mounted elsewhere, after the last of the others,
// is not joined).
func wanted(mode Mode, own map[string]string) map[string]bool {
	if mode == V2 {
		return map[string]bool{"": true}
	}
	w := map[string]bool{}
	for name := range own {
		if name != "" && name != "unified" {
			w[name] = true
		}
	}
	if isCgroup2("/sys/fs/cgroup/unified") {
		w["unified"] = true
	}
	return w
}

// parseMountinfoLine returns the hierarchy a mountinfo line describes, if any.
func parseMountinfoLine(line string, mode Mode) (hierarchy, bool) {
	sep := strings.Index(line, " - ")
	if sep < 0 {
		return hierarchy{}, false
	}
	pre := strings.Fields(line[:sep])
	post := strings.Fields(line[sep+3:])
	if len(pre) < 5 || len(post) < 3 {
		return hierarchy{}, false
	}
	root, mnt, fstype := unescape(pre[3]), unescape(pre[4]), post[0]
	switch {
	case fstype == "cgroup2" && mode == V2:
		if mnt != "/sys/fs/cgroup" {
			return hierarchy{}, false
		}
		return hierarchy{name: "", mountpoint: mnt, root: root}, true
	case fstype == "cgroup2" && mode == V1:
		return hierarchy{name: "unified", mountpoint: mnt, root: root}, true
	case fstype == "cgroup" && mode == V1:
		var ctrls []string
		for _, o := range strings.Split(post[2], ",") {
			if o == "" || o == "rw" || o == "ro" || strings.HasPrefix(o, "release_agent=") || o == "clone_children" || o == "xattr" || o == "noprefix" || o == "cpuset_v2_mode" || o == "favordynmods" {
				continue
			}
			ctrls = append(ctrls, o)
		}
		if len(ctrls) == 0 {
			return hierarchy{}, false
		}
		return hierarchy{name: strings.Join(ctrls, ","), mountpoint: mnt, root: root}, true
	}
	return hierarchy{}, false
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			v := 0
			ok := true
			for _, c := range s[i+1 : i+4] {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				v = v*8 + int(c-'0')
			}
			if ok {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ownCgroups maps each hierarchy of the calling process (by the same names as
// hierarchies) to its cgroup path.
func ownCgroups() (map[string]string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("read /proc/self/cgroup: %w", err)
	}
	own := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		name := parts[1]
		if parts[0] == "0" && name == "" {
			own[""] = parts[2]
			own["unified"] = parts[2]
			continue
		}
		own[name] = parts[2]
	}
	return own, nil
}
