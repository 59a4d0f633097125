// Package cgroups places container processes in control groups on cgroup v1
// (one hierarchy per controller) and cgroup v2 (the unified hierarchy), and
// removes those groups again.
package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Mode says which cgroup layout a manager drives.
type Mode string

const (
	// V1 drives one hierarchy per controller (and, on hybrid hosts, the
	// unified hierarchy beside them).
	V1 Mode = "v1"
	// V2 drives the single unified hierarchy.
	V2 Mode = "v2"
)

// Manager is the cgroup of one container. Its fields are saved with the
// container's state so a later command can find the cgroup again.
type Manager struct {
	Mode Mode `json:"mode"`
	// Paths maps a hierarchy name (controller list, "name=systemd",
	// "unified", or "" for a pure v2 host) to the absolute cgroup directory.
	Paths map[string]string `json:"paths"`
}

// unifiedMagic is CGROUP2_SUPER_MAGIC.
const unifiedMagic = 0x63677270

// HostMode reports whether the host mounts cgroup v2 alone at root.
func HostMode(root string) (Mode, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil {
		return "", fmt.Errorf("statfs %s: %w", root, err)
	}
	if st.Type == unifiedMagic {
		return V2, nil
	}
	return V1, nil
}

// New resolves the cgroup at path for a container: an absolute path is taken
// from each hierarchy's root; a relative one is placed under the cgroup of
// the calling process, as runc does. Nothing is created until Create.
func New(path string) (*Manager, error) {
	// A bad path is reported before a layout that cannot be read.
	if err := checkPath(path); err != nil {
		return nil, err
	}
	h, err := ReadHost()
	if err != nil {
		return nil, err
	}
	return h.New(path)
}

// New resolves the cgroup at path as the package's New does, in the
// layout h.
func (h *Host) New(path string) (*Manager, error) {
	if err := checkPath(path); err != nil {
		return nil, err
	}
	m := &Manager{Mode: h.mode, Paths: map[string]string{}}
	for _, hy := range h.hs {
		rel := path
		if !filepath.IsAbs(path) {
			rel = filepath.Join("/", relativeTo(h.own[hy.name], hy.root), path)
		}
		m.Paths[hy.name] = filepath.Join(hy.mountpoint, filepath.Clean("/"+rel))
	}
	return m, nil
}

// checkPath refuses a cgroup path that could name something other than a
// cgroup of the container's own.
func checkPath(path string) error {
	if path == "" {
		return errors.New("empty cgroup path")
	}
	if strings.ContainsRune(path, 0) {
		return fmt.Errorf("cgroup path %q: contains a NUL byte", path)
	}
	for _, part := range strings.Split(path, "/") {
		if part == ".." {
			return fmt.Errorf("cgroup path %q: must not contain \"..\"", path)
		}
	}
	if filepath.Clean("/"+path) == "/" {
		// The root, or the caller's own cgroup: the container must have
		// one of its own, which delete can remove.
		return fmt.Errorf("cgroup path %q: names no cgroup of the container's own", path)
	}
	return nil
}

// relativeTo returns cgroup path p (as /proc/self/cgroup shows it) relative
// to root, the part of the hierarchy mounted at the mountpoint.
func relativeTo(p, root string) string {
	if root == "/" || root == "" {
		return p
	}
	if p == root {
		return "/"
	}
	if strings.HasPrefix(p, root+"/") {
		return p[len(root):]
	}
	return p
}

// Create makes the cgroup directories.
func (m *Manager) Create() error {
	for name, dir := range m.Paths {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create cgroup %s: %w", dir, err)
		}
		if strings.Contains(name, "cpuset") {
			if err := initCpuset(dir); err != nil {
				return err
			}
		}
	}
	return nil
}

// Add moves pid into the cgroup, which Create has made.
func (m *Manager) Add(pid int) error {
	for _, dir := range m.Paths {
		if err := writeFile(dir, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	return nil
}

// AddOne moves pid into the cgroup of one hierarchy only, one without
// controllers where there is one (the one procsDir picks): enough to make
// the kernel start the grace period a first move waits for.
func (m *Manager) AddOne(pid int) error {
	dir := m.procsDir()
	if dir == "" {
		return errors.New("no cgroup hierarchy")
	}
	return writeFile(dir, "cgroup.procs", strconv.Itoa(pid))
}

// Path returns the directory of one hierarchy ("" for the v2 root).
func (m *Manager) Path(name string) string { return m.Paths[name] }

// Procs returns the pids of every process in the cgroup.
func (m *Manager) Procs() ([]int, error) {
	dir := m.procsDir()
	if dir == "" {
		return nil, errors.New("no cgroup hierarchy")
	}
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil, fmt.Errorf("read cgroup processes: %w", err)
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		p, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("parse %s/cgroup.procs: %w", dir, err)
		}
		pids = append(pids, p)
	}
	return pids, nil
}

// procsDir picks the hierarchy whose cgroup.procs lists every process of the
// container: all of them hold the same set, so any one does.
func (m *Manager) procsDir() string {
	for _, pref := range []string{"", "unified", "name=systemd", "pids", "devices", "freezer", "memory"} {
		if d, ok := m.Paths[pref]; ok {
			return d
		}
	}
	for _, d := range m.Paths {
		return d
	}
	return ""
}

// Destroy removes the cgroup directories. The processes in them must be gone;
// an exited process may linger a moment, so EBUSY is retried briefly.
func (m *Manager) Destroy() error {
	var errs []error
	for _, dir := range m.Paths {
		if err := removeCgroup(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func removeCgroup(dir string) error {
	delay := time.Millisecond
	for i := 0; ; i++ {
		err := unix.Rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) || i >= 12 {
			return fmt.Errorf("remove cgroup %s: %w", dir, err)
		}
		time.Sleep(delay)
		delay *= 2
	}
}

// initCpuset fills empty cpuset.cpus and cpuset.mems from the nearest parent,
// since v1 refuses tasks in a cpuset without them.
func initCpuset(dir string) error {
	for _, file := range []string{"cpuset.cpus", "cpuset.mems"} {
		if err := inheritCpuset(dir, file); err != nil {
			return err
		}
	}
	return nil
}

func inheritCpuset(dir, file string) error {
	cur, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return fmt.Errorf("read %s/%s: %w", dir, file, err)
	}
	if strings.TrimSpace(string(cur)) != "" {
		return nil
	}
	parent := filepath.Dir(dir)
	if err := inheritCpuset(parent, file); err != nil {
		return err
	}
	val, err := os.ReadFile(filepath.Join(parent, file))
	if err != nil {
		return fmt.Errorf("read %s/%s: %w", parent, file, err)
	}
	return writeFile(dir, file, strings.TrimSpace(string(val)))
}

func writeFile(dir, file, val string) error {
	p := filepath.Join(dir, file)
	if err := os.WriteFile(p, []byte(val), 0); err != nil {
		return fmt.Errorf("write %q to %s: %w", val, p, err)
	}
	return nil
}
