package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/runtime/spec"
)

// mountCgroup gives the container a view of its own cgroup at dest: on a v2
// host with a cgroup namespace a fresh cgroup2 mount (rooted at the
// container's cgroup by the namespace); otherwise the container's cgroup
// directories bound from the host, under a tmpfs on v1 as runc lays it out.
func (s *setup) mountCgroup(dest string, o spec.MountOptions) error {
	// The runtime makes the container's cgroup while init starts: its
	// directories exist once WaitCgroupMade returns, and init is in it
	// once WaitCgroup does. A fresh cgroup2 mount shows the cgroup
	// namespace's root, which is init's cgroup then; bound directories
	// only need to exist.
	paths := s.cfg.CgroupPaths
	unified, v2 := paths[""]
	fresh := (v2 && s.cfg.CgroupNS) || len(paths) == 0
	wait := s.cfg.WaitCgroup
	if !fresh && s.cfg.WaitCgroupMade != nil {
		wait = s.cfg.WaitCgroupMade
	}
	if wait != nil {
		if err := wait(); err != nil {
			return err
		}
	}
	if v2 || len(paths) == 0 {
		if fresh {
			m := specs.Mount{Source: "cgroup", Type: "cgroup2", Destination: dest}
			return s.mountFS(m, dest, o)
		}
		return s.mountBind(specs.Mount{Source: unified, Destination: dest}, dest, o)
	}
	tmpfsOpts := o
	tmpfsOpts.Flags &^= unix.MS_RDONLY
	tmpfsOpts.Data = "mode=755"
	tmpfsOpts.Propagation = nil
	if err := s.mountFS(specs.Mount{Source: "tmpfs", Type: "tmpfs", Destination: dest}, dest, tmpfsOpts); err != nil {
		return err
	}
	names := make([]string, 0, len(paths))
	for n := range paths {
		names = append(names, n)
	}
	sort.Strings(names)
	// The fresh tmpfs holds nothing of the image's: each hierarchy's
	// mount point is made and opened in it, not looked up from the root
	// again component by component.
	tmpfs, err := openInRoot(s.root, dest)
	if err != nil {
		return err
	}
	defer tmpfs.Close()
	// The binds without the options' flags, which then apply to the tmpfs
	// and every bind at once (one mount_setattr, not a remount each);
	// propagation and recursive attributes still apply to each bind.
	bind := spec.MountOptions{Flags: unix.MS_BIND, Propagation: o.Propagation, RecAttrSet: o.RecAttrSet, RecAttrClr: o.RecAttrClr}
	for _, n := range names {
		sub := n
		if len(sub) > 5 && sub[:5] == "name=" {
			sub = sub[5:]
		}
		if err := bindHierarchy(tmpfs, sub, paths[n]); err != nil {
			return fmt.Errorf("cgroup hierarchy %s: %w", n, err)
		}
		if err := s.finishMount(filepath.Join(dest, sub), bind); err != nil {
			return fmt.Errorf("cgroup hierarchy %s: %w", n, err)
		}
	}
	attr := mountAttr(o.Flags&flagsForBind, o.Clear&flagsForBind)
	if attr.Attr_set == 0 && attr.Attr_clr == 0 {
		return nil
	}
	mnt, err := openInRoot(s.root, dest)
	if err != nil {
		return err
	}
	defer mnt.Close()
	if err := unix.MountSetattr(int(mnt.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, attr); err != nil {
		return fmt.Errorf("set the flags of the cgroup hierarchies' binds: %w", err)
	}
	return nil
}

// bindHierarchy binds the host's cgroup directory src at name in dir (the
// tmpfs mountCgroup made), making the mount point there. name is a
// hierarchy's name, which has no "/".
func bindHierarchy(dir *os.File, name, src string) error {
	if strings.Contains(name, "/") || name == "" || name == "." || name == ".." {
		return fmt.Errorf("bad hierarchy name %q", name)
	}
	if err := unix.Mkdirat(int(dir.Fd()), name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("mkdir %s: %w", name, err)
	}
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	target := os.NewFile(uintptr(fd), name)
	defer target.Close()
	if err := unix.Mount(src, fdPath(target), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s: %w", src, err)
	}
	return nil
}
