package spec

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// MountOptions is the parsed form of a mount's option list.
type MountOptions struct {
	// Flags are mount(2) flags to set; Clear are flags an option turned off.
	Flags, Clear uintptr
	// Propagation holds propagation changes, applied after the mount in order.
	Propagation []uintptr
	// RecAttrSet and RecAttrClr are MOUNT_ATTR_* bits applied recursively
	// (the "r" options: rro, rnosuid, ...) with mount_setattr(2). An atime
	// option (rnoatime, rrelatime, rstrictatime) puts MOUNT_ATTR__ATIME in
	// RecAttrClr and its mode in RecAttrSet, as the kernel expects.
	RecAttrSet, RecAttrClr uint64
	// Data holds the options the filesystem itself interprets.
	Data string
	// TmpCopyUp copies the destination's former content into a new tmpfs.
	TmpCopyUp bool
}

// Bind reports whether the options ask for a bind mount.
func (o MountOptions) Bind() bool { return o.Flags&unix.MS_BIND != 0 }

// Recursive reports whether a bind mount includes submounts.
func (o MountOptions) Recursive() bool { return o.Flags&unix.MS_REC != 0 }

var mountFlags = map[string]struct {
	clear bool
	flag  uintptr
}{
	"async":         {true, unix.MS_SYNCHRONOUS},
	"atime":         {true, unix.MS_NOATIME},
	"bind":          {false, unix.MS_BIND},
	"defaults":      {false, 0},
	"dev":           {true, unix.MS_NODEV},
	"diratime":      {true, unix.MS_NODIRATIME},
	"dirsync":       {false, unix.MS_DIRSYNC},
	"exec":          {true, unix.MS_NOEXEC},
	"mand":          {false, unix.MS_MANDLOCK},
	"noatime":       {false, unix.MS_NOATIME},
	"nodev":         {false, unix.MS_NODEV},
	"nodiratime":    {false, unix.MS_NODIRATIME},
	"noexec":        {false, unix.MS_NOEXEC},
	"nomand":        {true, unix.MS_MANDLOCK},
	"norelatime":    {true, unix.MS_RELATIME},
	"nostrictatime": {true, unix.MS_STRICTATIME},
	"nosuid":        {false, unix.MS_NOSUID},
	"rbind":         {false, unix.MS_BIND | unix.MS_REC},
	"relatime":      {false, unix.MS_RELATIME},
	"remount":       {false, unix.MS_REMOUNT},
	"ro":            {false, unix.MS_RDONLY},
	"rw":            {true, unix.MS_RDONLY},
	"strictatime":   {false, unix.MS_STRICTATIME},
	"suid":          {true, unix.MS_NOSUID},
	"sync":          {false, unix.MS_SYNCHRONOUS},
}

var propagationFlags = map[string]uintptr{
	"private":     unix.MS_PRIVATE,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"shared":      unix.MS_SHARED,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"slave":       unix.MS_SLAVE,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"unbindable":  unix.MS_UNBINDABLE,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

var recursiveAttrs = map[string]struct {
	clear bool
	attr  uint64
}{
	"rro":         {false, unix.MOUNT_ATTR_RDONLY},
	"rrw":         {true, unix.MOUNT_ATTR_RDONLY},
	"rnosuid":     {false, unix.MOUNT_ATTR_NOSUID},
	"rsuid":       {true, unix.MOUNT_ATTR_NOSUID},
	"rnodev":      {false, unix.MOUNT_ATTR_NODEV},
	"rdev":        {true, unix.MOUNT_ATTR_NODEV},
	"rnoexec":     {false, unix.MOUNT_ATTR_NOEXEC},
	"rexec":       {true, unix.MOUNT_ATTR_NOEXEC},
	"rnodiratime": {false, unix.MOUNT_ATTR_NODIRATIME},
	"rdiratime":   {true, unix.MOUNT_ATTR_NODIRATIME},
}

// recursiveAtime are the recursive access-time modes. The mode is one field
// (MOUNT_ATTR__ATIME), not a bit, and MOUNT_ATTR_RELATIME is 0.
var recursiveAtime = map[string]uint64{
	"rnoatime":     unix.MOUNT_ATTR_NOATIME,
	"rrelatime":    unix.MOUNT_ATTR_RELATIME,
	"rstrictatime": unix.MOUNT_ATTR_STRICTATIME,
}

// ParseMountOptions splits an OCI mount option list into flags, propagation,
// recursive attributes and filesystem data. Options it does not know are
// passed to the filesystem, as runc does; id-mapped mounts are refused.
func ParseMountOptions(opts []string) (MountOptions, error) {
	var o MountOptions
	var data []string
	for _, opt := range opts {
		if f, ok := mountFlags[opt]; ok {
			if f.clear {
				o.Flags &^= f.flag
				o.Clear |= f.flag
			} else {
				o.Flags |= f.flag
				o.Clear &^= f.flag
			}
			continue
		}
		if p, ok := propagationFlags[opt]; ok {
			o.Propagation = append(o.Propagation, p)
			continue
		}
		if mode, ok := recursiveAtime[opt]; ok {
			// mount_setattr(2) changes the mode only with
			// MOUNT_ATTR__ATIME in attr_clr; the last atime option wins.
			o.RecAttrSet = o.RecAttrSet&^unix.MOUNT_ATTR__ATIME | mode
			o.RecAttrClr |= unix.MOUNT_ATTR__ATIME
			continue
		}
		if a, ok := recursiveAttrs[opt]; ok {
			if a.clear {
				o.RecAttrClr |= a.attr
				o.RecAttrSet &^= a.attr
			} else {
				o.RecAttrSet |= a.attr
				o.RecAttrClr &^= a.attr
			}
			continue
		}
		switch {
		case opt == "tmpcopyup":
			o.TmpCopyUp = true
		case opt == "idmap" || opt == "ridmap":
			return o, fmt.Errorf("id-mapped mounts (%q) are not supported", opt)
		case strings.ContainsRune(opt, ','):
			return o, fmt.Errorf("option %q contains a comma", opt)
		case opt == "":
		default:
			data = append(data, opt)
		}
	}
	o.Data = strings.Join(data, ",")
	return o, nil
}
