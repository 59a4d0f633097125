// Package rootfs builds a container's filesystem view inside its new mount
// namespace: the mounts of config.json, /dev, the console, masked and
// read-only paths, and finally pivot_root. Every path inside the rootfs is
// resolved without leaving it, and every mount targets a file descriptor, so
// symlinks in the image (or swapped in during setup) cannot redirect a
// mount to the host (CVE-2021-30465, CVE-2024-45310).
package rootfs

import (
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Config is what Setup needs to know.
type Config struct {
	Spec *specs.Spec
	// Rootfs is the absolute path of root.path; Bundle resolves relative
	// bind sources.
	Rootfs, Bundle string
	// NoPivot moves the rootfs over / and chroots instead of pivot_root.
	NoPivot bool
	// UserNS and CgroupNS say whether the container has new namespaces of
	// those kinds.
	UserNS, CgroupNS bool
	// CgroupPaths are the container's cgroup directories on the host.
	CgroupPaths map[string]string
	// WaitCgroup, if set, is called before a mount that needs init to be
	// in the container's cgroup (a fresh cgroup2 mount in a cgroup
	// namespace); the rest of the setup overlaps with the runtime placing
	// init in the cgroup.
	WaitCgroup func() error
	// Console, when set, opens the container's terminal given the rootfs
	// handle and returns the pty to bind on /dev/console.
	Console func(root *os.File) (*os.File, error)
}

type setup struct {
	cfg  Config
	root *os.File
}

// Setup prepares the rootfs and enters it. It runs in the container's init,
// in its new mount namespace, before the user's process is started.
func Setup(cfg Config) error {
	s := &setup{cfg: cfg}
	prop, shared := rootPropagation(cfg.Spec.Linux.RootfsPropagation)
	if err := unix.Mount("", "/", "", prop, ""); err != nil {
		return fmt.Errorf("set propagation of /: %w", err)
	}
	if err := unix.Mount(cfg.Rootfs, cfg.Rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind rootfs %s: %w", cfg.Rootfs, err)
	}
	root, err := os.OpenFile(cfg.Rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open rootfs: %w", err)
	}
	s.root = root
	defer root.Close()
	for i, m := range cfg.Spec.Mounts {
		if err := s.mountOne(i, m); err != nil {
			return err
		}
	}
	if !s.devIsBind() {
		if err := s.createDevices(); err != nil {
			return err
		}
	}
	if err := s.devSymlinks(); err != nil {
		return err
	}
	if cfg.Console != nil {
		pty, err := cfg.Console(root)
		if err != nil {
			return fmt.Errorf("set up terminal: %w", err)
		}
		if err := s.bindConsole(pty); err != nil {
			return err
		}
	}
	if err := s.maskPaths(); err != nil {
		return err
	}
	if err := s.readonlyPaths(); err != nil {
		return err
	}
	if cfg.NoPivot {
		err = moveRoot(cfg.Rootfs)
	} else {
		err = pivotRoot(cfg.Rootfs)
	}
	if err != nil {
		return err
	}
	if cfg.Spec.Root.Readonly {
		slash, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open /: %w", err)
		}
		defer slash.Close()
		if err := remountBind(slash, unix.MS_RDONLY, 0); err != nil {
			return fmt.Errorf("make rootfs read-only: %w", err)
		}
	}
	if shared != 0 {
		if err := unix.Mount("", "/", "", shared, ""); err != nil {
			return fmt.Errorf("set propagation of rootfs: %w", err)
		}
	}
	return nil
}

// rootPropagation returns the propagation to give / before pivot_root and,
// for shared propagation (which pivot_root refuses), the one to set after.
func rootPropagation(p string) (before, after uintptr) {
	switch p {
	case "private":
		return unix.MS_PRIVATE, 0
	case "rprivate":
		return unix.MS_PRIVATE | unix.MS_REC, 0
	case "slave":
		return unix.MS_SLAVE, 0
	case "unbindable":
		return unix.MS_UNBINDABLE, 0
	case "runbindable":
		return unix.MS_UNBINDABLE | unix.MS_REC, 0
	case "shared":
		return unix.MS_PRIVATE | unix.MS_REC, unix.MS_SHARED
	case "rshared":
		return unix.MS_PRIVATE | unix.MS_REC, unix.MS_SHARED | unix.MS_REC
	}
	return unix.MS_SLAVE | unix.MS_REC, 0
}

func (s *setup) hasMount(dest string) bool {
	for _, m := range s.cfg.Spec.Mounts {
		if filepath.Clean("/"+m.Destination) == dest {
			return true
		}
	}
	return false
}

// devIsBind reports whether /dev comes from the host, in which case its
// devices are already there.
func (s *setup) devIsBind() bool {
	for _, m := range s.cfg.Spec.Mounts {
		if filepath.Clean("/"+m.Destination) != "/dev" {
			continue
		}
		if m.Type == "bind" {
			return true
		}
		for _, o := range m.Options {
			if o == "bind" || o == "rbind" {
				return true
			}
		}
	}
	return false
}
