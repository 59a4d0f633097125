package engine

import (
	"os"
	"path/filepath"
	"strings"

	"berth/snapshot"
)

// volatileRootfs returns mounts with overlayfs's "volatile" option on each
// overlay, for a --rm container's rootfs (as Podman mounts those): its
// writes are thrown away with it, so they need not reach the disk, and
// the unmount at its removal then skips the sync of the whole upper
// filesystem (which, on a busy host, waits for every other writer's dirty
// pages). A crash loses nothing a --rm container would have kept.
func volatileRootfs(mounts []snapshot.Mount) []snapshot.Mount {
	out := make([]snapshot.Mount, len(mounts))
	for i, m := range mounts {
		out[i] = m
		if m.Type == "overlay" && m.UpperDir() != "" && !hasOpt(m.Options, "volatile") {
			out[i].Options = append(append([]string(nil), m.Options...), "volatile")
		}
	}
	return out
}

// clearVolatile removes the marker a volatile overlay leaves in its work
// directory (work/incompat/volatile), which makes the kernel refuse to
// mount that upper layer again: a --rm container created and then
// remounted (after a reboot, before its start) would not start otherwise.
func clearVolatile(mounts []snapshot.Mount) {
	for _, m := range mounts {
		if m.Type != "overlay" {
			continue
		}
		for _, o := range m.Options {
			if dir, ok := strings.CutPrefix(o, "workdir="); ok && filepath.IsAbs(dir) {
				_ = os.RemoveAll(filepath.Join(dir, "work", "incompat", "volatile"))
			}
		}
	}
}

// mountRootfs mounts a container's rootfs at target; volatile (a --rm
// container's) if the kernel can (5.10 and later), else as usual.
func mountRootfs(mounts []snapshot.Mount, target string, volatile bool) error {
	if volatile {
		clearVolatile(mounts)
		if snapshot.MountAll(volatileRootfs(mounts), target) == nil {
			return nil
		}
	}
	return snapshot.MountAll(mounts, target)
}
