// Package rootfs builds a container's filesystem view inside its new mount
// namespace: the mounts of config.json, /dev, the console, masked and
// read-only paths, and finally pivot_root. Every path inside the rootfs is
// resolved without leaving it, and every mount targets a file descriptor, so
// symlinks in the image (or swapped in during setup) cannot redirect a
// mount to the host (CVE-2021-30465, CVE-2024-45310).
package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/runtime/lsm"
)

// Config is what Setup needs to know.
type Config struct {
	Spec *specs.Spec
	// Rootfs is the absolute path of root.path; Bundle resolves relative
	// bind sources.
	Rootfs, Bundle string
	// RootfsTree, if not 0, is a detached mount tree (open_tree) attached
	// at Rootfs first: the rootfs as the runtime's mount namespace has it,
	// for a mount namespace copied before the rootfs was mounted there.
	RootfsTree int
	// NoPivot moves the rootfs over / and chroots instead of pivot_root.
	NoPivot bool
	// SharedMountNS says the container has no mount namespace of its own:
	// the mounts are made in the runtime's (as runc does; delete removes
	// them) and the rootfs is entered by chroot; the propagation of / and
	// of the rootfs' parent, which belong to the host, are left alone.
	SharedMountNS bool
	// UserNS and CgroupNS say whether the container has new namespaces of
	// those kinds.
	UserNS, CgroupNS bool
	// LSM says which security modules the host runs: linux.mountLabel is
	// applied to new tmpfs, devpts and mqueue mounts where it runs SELinux.
	LSM lsm.Host
	// CgroupPaths are the container's cgroup directories on the host.
	CgroupPaths map[string]string
	// WaitCgroup, if set, is called before a mount that needs the
	// container's cgroup (a cgroup mount: its directories are bound, or a
	// fresh cgroup2 mount in a cgroup namespace shows init's cgroup); the
	// rest of the setup overlaps with the runtime making the cgroup and
	// placing init in it.
	WaitCgroup func() error
	// WaitCgroupMade, if set, is called instead where the container's
	// cgroup directories must exist but init need not be in the cgroup
	// yet (a cgroup mount that binds them): the runtime places init
	// meanwhile.
	WaitCgroupMade func() error
	// Console, when set, opens the container's terminal given the rootfs
	// handle and returns the pty to bind on /dev/console.
	Console func(root *os.File) (*os.File, error)
	// BeforePivot, if set, is called once the mounts, devices, masked and
	// read-only paths are in place, just before pivot_root (or the move of
	// the rootfs with NoPivot): where the createRuntime and
	// createContainer hooks run. Its error ends the setup.
	BeforePivot func() error
}

type setup struct {
	cfg  Config
	root *os.File
}

// Setup prepares the rootfs and enters it. It runs in the container's init,
// in its new mount namespace, before the user's process is started.
func Setup(cfg Config) error {
	s := &setup{cfg: cfg}
	before, after := rootPropagation(cfg.Spec.Linux.RootfsPropagation)
	if !cfg.SharedMountNS {
		if err := unix.Mount("", "/", "", before, ""); err != nil {
			return fmt.Errorf("set propagation of /: %w", err)
		}
		if err := attachTree(cfg.RootfsTree, cfg.Rootfs, before); err != nil {
			return err
		}
		if err := parentMountPrivate(cfg.Rootfs); err != nil {
			return err
		}
		if err := unix.Mount(cfg.Rootfs, cfg.Rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind rootfs %s: %w", cfg.Rootfs, err)
		}
	}
	if cfg.SharedMountNS && cfg.RootfsTree != 0 {
		return errors.New("a rootfs mount tree without a mount namespace of its own")
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
	if cfg.BeforePivot != nil {
		if err := cfg.BeforePivot(); err != nil {
			return err
		}
	}
	if cfg.SharedMountNS {
		return chrootInto(cfg.Rootfs)
	}
	if before&unix.MS_SHARED != 0 {
		// pivot_root refuses a shared /, and a rootfs moved onto a shared
		// / would appear on the host's / too.
		if err := unix.Mount("", "/", "", unix.MS_PRIVATE, ""); err != nil {
			return fmt.Errorf("make old / private: %w", err)
		}
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
		// By descriptor, not through the container's /proc.
		attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		if err := unix.MountSetattr(unix.AT_FDCWD, "/", 0, attr); err != nil {
			return fmt.Errorf("make rootfs read-only: %w", err)
		}
	}
	if after != 0 {
		if err := unix.Mount("", "/", "", after, ""); err != nil {
			return fmt.Errorf("linux.rootfsPropagation: set propagation of /: %w", err)
		}
	}
	return nil
}

// rootPropagation maps linux.rootfsPropagation to the propagation the new
// mount namespace gets before the rootfs is bound, and the one the
// container's / gets once it is the root. The requested propagation is set
// only then: an unbindable / could not be bound as the rootfs, and
// pivot_root refuses a shared one.
func rootPropagation(p string) (before, after uintptr) {
	const rslave = unix.MS_SLAVE | unix.MS_REC
	switch p {
	case "private":
		return unix.MS_PRIVATE | unix.MS_REC, unix.MS_PRIVATE
	case "rprivate":
		return unix.MS_PRIVATE | unix.MS_REC, unix.MS_PRIVATE | unix.MS_REC
	case "slave":
		return rslave, unix.MS_SLAVE
	case "rslave":
		return rslave, rslave
	case "shared":
		return rslave, unix.MS_SHARED
	case "rshared":
		// The namespace's mounts stay peers of the host's, so that rshared
		// bind mounts propagate both ways, as in runc.
		return unix.MS_SHARED | unix.MS_REC, unix.MS_SHARED | unix.MS_REC
	case "unbindable":
		return rslave, unix.MS_UNBINDABLE
	case "runbindable":
		return rslave, unix.MS_UNBINDABLE | unix.MS_REC
	}
	return rslave, 0
}

// attachTree attaches the detached mount tree fd (if not 0) at rootfs,
// once / no longer propagates to the host (propagation before): a shared
// / would give the host's rootfs a second mount.
func attachTree(fd int, rootfs string, before uintptr) error {
	if fd == 0 {
		return nil
	}
	defer unix.Close(fd)
	if before&unix.MS_SHARED != 0 {
		return errors.New("a rootfs mount tree with a shared /: it would propagate to the host")
	}
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, rootfs, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("attach the rootfs at %s: %w", rootfs, err)
	}
	return nil
}

// parentMountPrivate makes the mount that holds rootfs private, as runc
// does: through a shared parent, the bind of the rootfs (and so every mount
// made in it) would propagate to the host's mount namespace, and
// pivot_root refuses a new root whose parent mount is shared.
func parentMountPrivate(rootfs string) error {
	p, err := filepath.EvalSymlinks(rootfs)
	if err != nil {
		return fmt.Errorf("resolve rootfs %s: %w", rootfs, err)
	}
	for p = filepath.Clean(p); ; p = filepath.Dir(p) {
		err := unix.Mount("", p, "", unix.MS_PRIVATE, "")
		if err == nil {
			return nil
		}
		// EINVAL: p is not a mount point; its parent directory may be.
		if !errors.Is(err, unix.EINVAL) || p == "/" {
			return fmt.Errorf("make the mount holding rootfs %s private: %w", rootfs, err)
		}
	}
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
