package ocispec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// deviceSpec is one parsed --device value.
type deviceSpec struct {
	host, ctr, perms string
}

// parseDevice parses --device /dev/host[:/dev/ctr][:rwm] as Docker's CLI:
// the container path defaults to the host path, the permissions to rwm.
func parseDevice(v string) (deviceSpec, error) {
	bad := func(why string) (deviceSpec, error) {
		return deviceSpec{}, fmt.Errorf("--device %s: %s", v, why)
	}
	if strings.ContainsRune(v, 0) {
		return bad("contains a NUL byte")
	}
	if strings.Count(v, ":") > 2 {
		return bad("bad format for path")
	}
	arr := strings.SplitN(v, ":", 3)
	if arr[0] == "" {
		return bad("bad format for path")
	}
	d := deviceSpec{host: arr[0], perms: "rwm"}
	switch len(arr) {
	case 2:
		if validDeviceMode(arr[1]) {
			d.perms = arr[1]
		} else {
			d.ctr = arr[1]
		}
	case 3:
		d.ctr = arr[1]
		if !validDeviceMode(arr[2]) {
			return bad("bad mode specified: " + arr[2])
		}
		d.perms = arr[2]
	}
	if d.ctr == "" {
		d.ctr = d.host
	}
	if !path.IsAbs(d.ctr) {
		return bad(d.ctr + " is not an absolute path")
	}
	if !path.IsAbs(d.host) {
		return bad(d.host + " is not an absolute path")
	}
	d.ctr = path.Clean(d.ctr)
	return d, nil
}

// validDeviceMode reports whether m is a non-empty subset of "rwm", each
// letter at most once.
func validDeviceMode(m string) bool {
	if m == "" || len(m) > 3 {
		return false
	}
	seen := map[rune]bool{}
	for _, c := range m {
		if !strings.ContainsRune("rwm", c) || seen[c] {
			return false
		}
		seen[c] = true
	}
	return true
}

// hostDevice stats a device node on the host (following symlinks, as
// Docker resolves /dev/disk/by-id/... links) and describes it at ctr.
func hostDevice(host, ctr string) (specs.LinuxDevice, error) {
	var st unix.Stat_t
	if err := unix.Stat(host, &st); err != nil {
		return specs.LinuxDevice{}, &os.PathError{Op: "stat", Path: host, Err: err}
	}
	var typ string
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		typ = "c"
	case unix.S_IFBLK:
		typ = "b"
	default:
		return specs.LinuxDevice{}, fmt.Errorf("%s: not a device node", host)
	}
	mode := os.FileMode(st.Mode & 0o777)
	uid, gid := st.Uid, st.Gid
	return specs.LinuxDevice{
		Path: ctr, Type: typ,
		Major: int64(unix.Major(st.Rdev)), Minor: int64(unix.Minor(st.Rdev)),
		FileMode: &mode, UID: &uid, GID: &gid,
	}, nil
}

// devices adds --device values to s: the node (linux.devices) and a cgroup
// rule allowing it with the given permissions. A directory adds every
// device under it, as Docker does.
func devices(s *specs.Spec, list []string) error {
	for _, v := range list {
		d, err := parseDevice(v)
		if err != nil {
			return err
		}
		fi, err := os.Stat(d.host)
		if err != nil {
			return fmt.Errorf("--device %s: error gathering device information while adding custom device %q: %w", v, d.host, err)
		}
		var found []specs.LinuxDevice
		if fi.IsDir() {
			err = filepath.WalkDir(d.host, func(p string, e fs.DirEntry, err error) error {
				if err != nil || e.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(d.host, p)
				dev, derr := hostDevice(p, path.Join(d.ctr, filepath.ToSlash(rel)))
				if derr == nil {
					found = append(found, dev)
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("--device %s: %w", v, err)
			}
		} else {
			dev, err := hostDevice(d.host, d.ctr)
			if err != nil {
				return fmt.Errorf("--device %s: error gathering device information while adding custom device %q: %w", v, d.host, err)
			}
			found = append(found, dev)
		}
		for _, dev := range found {
			addDevice(s, dev, d.perms)
		}
	}
	return nil
}

// addDevice adds one node and its cgroup rule, replacing a node already
// at that path.
func addDevice(s *specs.Spec, dev specs.LinuxDevice, perms string) {
	replaced := false
	for i := range s.Linux.Devices {
		if s.Linux.Devices[i].Path == dev.Path {
			s.Linux.Devices[i], replaced = dev, true
		}
	}
	if !replaced {
		s.Linux.Devices = append(s.Linux.Devices, dev)
	}
	major, minor := dev.Major, dev.Minor
	s.Linux.Resources.Devices = append(s.Linux.Resources.Devices, specs.LinuxDeviceCgroup{
		Allow: true, Type: dev.Type, Major: &major, Minor: &minor, Access: perms,
	})
}

// privilegedDevices gives the container every device node of the host's
// /dev and allows all devices in the cgroup, as Docker does for
// --privileged (containerd's HostDevices: pts, shm, mqueue and the
// console are left to the runtime).
func privilegedDevices(s *specs.Spec) error {
	err := filepath.WalkDir("/dev", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if p == "/dev" {
				return err
			}
			return nil // a node gone meanwhile, or unreadable: skip it
		}
		if e.IsDir() {
			switch e.Name() {
			case "pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev":
				return filepath.SkipDir
			}
			return nil
		}
		if e.Name() == "console" || e.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		dev, derr := hostDevice(p, p)
		if derr == nil {
			s.Linux.Devices = append(s.Linux.Devices, dev)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("--privileged: list host devices: %w", err)
	}
	s.Linux.Resources.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
	return nil
}
