package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/runtime/spec"
)

// flagsForBind are the flags that take a remount to apply to a bind mount.
const flagsForBind = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC |
	unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME | unix.MS_STRICTATIME

// mountOne performs one entry of config.json's mounts inside the rootfs.
func (s *setup) mountOne(i int, m specs.Mount) error {
	opts, err := spec.ParseMountOptions(m.Options)
	if err != nil {
		return fmt.Errorf("mounts[%d].options: %w", i, err)
	}
	dest := m.Destination
	if !filepath.IsAbs(dest) {
		dest = "/" + dest
	}
	if opts.TmpCopyUp {
		return fmt.Errorf("mounts[%d] (%s): tmpcopyup is not supported", i, dest)
	}
	if err := checkProcMount(m, dest); err != nil {
		return fmt.Errorf("mounts[%d]: %w", i, err)
	}
	switch {
	case m.Type == "bind" || opts.Bind():
		err = s.mountBind(m, dest, opts)
	case m.Type == "cgroup" || m.Type == "cgroup2":
		err = s.mountCgroup(dest, opts)
	default:
		err = s.mountFS(m, dest, opts)
	}
	if err != nil {
		return fmt.Errorf("mount %s on %s (mounts[%d]): %w", m.Source, dest, i, err)
	}
	return nil
}

// mountFS mounts a new filesystem instance (proc, tmpfs, sysfs, ...).
func (s *setup) mountFS(m specs.Mount, dest string, o spec.MountOptions) error {
	target, err := mkdirInRoot(s.root, dest, 0o755)
	if err != nil {
		return err
	}
	defer target.Close()
	if m.Type == "proc" || m.Type == "sysfs" {
		// A proc or sys mount onto something other than a plain directory
		// (CVE-2019-19921 put one on a symlink) is refused.
		var st unix.Stat_t
		if err := unix.Fstat(int(target.Fd()), &st); err != nil {
			return err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return fmt.Errorf("destination is not a directory")
		}
	}
	flags := o.Flags &^ (unix.MS_BIND | unix.MS_REC | unix.MS_REMOUNT)
	data, err := s.cfg.LSM.MountData(m.Type, o.Data, s.cfg.Spec.Linux.MountLabel)
	if err != nil {
		return err
	}
	err = unix.Mount(m.Source, fdPath(target), m.Type, flags, data)
	if err != nil && m.Type == "sysfs" && s.cfg.UserNS && (errors.Is(err, unix.EPERM) || errors.Is(err, unix.EBUSY)) {
		// sysfs of the host network namespace cannot be mounted from a user
		// namespace; bind the host's instead, as runc does.
		bind := specs.Mount{Source: "/sys", Destination: dest}
		o.Flags |= unix.MS_BIND | unix.MS_REC
		return s.mountBind(bind, dest, o)
	}
	if err != nil {
		return err
	}
	return s.finishMount(dest, o)
}

// mountBind binds a host path into the rootfs.
func (s *setup) mountBind(m specs.Mount, dest string, o spec.MountOptions) error {
	src := m.Source
	if !filepath.IsAbs(src) {
		src = filepath.Join(s.cfg.Bundle, src)
	}
	fi, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("bind source: %w", err)
	}
	target, err := targetInRoot(s.root, dest, !fi.IsDir())
	if err != nil {
		return err
	}
	defer target.Close()
	flags := uintptr(unix.MS_BIND)
	if o.Recursive() {
		flags |= unix.MS_REC
	}
	if err := unix.Mount(src, fdPath(target), "", flags, ""); err != nil {
		return err
	}
	if o.Flags&flagsForBind != 0 || o.Clear&flagsForBind != 0 {
		mnt, err := openInRoot(s.root, dest)
		if err != nil {
			return err
		}
		defer mnt.Close()
		if err := remountBind(mnt, o.Flags&flagsForBind, o.Clear&flagsForBind); err != nil {
			return err
		}
	}
	return s.finishMount(dest, o)
}

// finishMount applies propagation and recursive attributes to the mount now
// at dest.
func (s *setup) finishMount(dest string, o spec.MountOptions) error {
	if len(o.Propagation) == 0 && o.RecAttrSet == 0 && o.RecAttrClr == 0 {
		return nil
	}
	mnt, err := openInRoot(s.root, dest)
	if err != nil {
		return err
	}
	defer mnt.Close()
	for _, p := range o.Propagation {
		if err := unix.Mount("", fdPath(mnt), "", p, ""); err != nil {
			return fmt.Errorf("set propagation %#x: %w", p, err)
		}
	}
	if o.RecAttrSet != 0 || o.RecAttrClr != 0 {
		attr := &unix.MountAttr{Attr_set: o.RecAttrSet, Attr_clr: o.RecAttrClr}
		if o.RecAttrSet&(unix.MOUNT_ATTR_RELATIME|unix.MOUNT_ATTR_NOATIME|unix.MOUNT_ATTR_STRICTATIME) != 0 {
			attr.Attr_clr |= unix.MOUNT_ATTR__ATIME
		}
		if err := unix.MountSetattr(int(mnt.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, attr); err != nil {
			return fmt.Errorf("set recursive mount attributes: %w", err)
		}
	}
	return nil
}

// procFiles are the files under /proc a bind mount may cover, as runc
// allows them for lxcfs.
var procFiles = map[string]bool{
	"/proc/cpuinfo": true, "/proc/diskstats": true, "/proc/meminfo": true,
	"/proc/stat": true, "/proc/swaps": true, "/proc/uptime": true,
	"/proc/loadavg": true, "/proc/slabinfo": true, "/proc/net/dev": true,
	"/proc/sys/kernel/ns_last_pid": true,
}

// checkProcMount refuses mounts that would cover parts of /proc (other than
// a proc mount on /proc itself and the lxcfs files): a mount over, say,
// /proc/self/attr or /proc/sys would let an image or a careless config
// disarm the runtime's own writes there (CVE-2019-16884, CVE-2025-52881).
func checkProcMount(m specs.Mount, dest string) error {
	dest = filepath.Clean(dest)
	if dest == "/proc" {
		if m.Type != "proc" {
			return fmt.Errorf("%s: only a proc filesystem may be mounted on /proc, not %q", dest, m.Type)
		}
		return nil
	}
	if !strings.HasPrefix(dest, "/proc/") {
		return nil
	}
	if procFiles[dest] {
		return nil
	}
	return fmt.Errorf("%s: mounts inside /proc are refused (only %s may be bound)", dest, "the lxcfs files such as /proc/meminfo")
}
