package snapshot

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Mount is one mount(2) to perform: what snapshotters return.
type Mount struct {
	// Type is the filesystem type: "overlay", "bind" or any other.
	Type string
	// Source is the device or, for "bind", the directory to bind.
	Source string
	// Options are mount(8)-style options: VFS flags ("ro", "nosuid", ...)
	// and filesystem data ("lowerdir=a:b", "upperdir=...").
	Options []string
}

// UpperDir returns the path of the mount's "upperdir=" option, where an
// overlay layer's changes go, or "" if it has none.
func (m Mount) UpperDir() string {
	return m.option("upperdir")
}

// LowerDirs returns the paths of the mount's "lowerdir=" option, top
// layer first ("\:" escapes a colon inside a path).
func (m Mount) LowerDirs() []string {
	v := m.option("lowerdir")
	if v == "" {
		return nil
	}
	return SplitLowerDirs(v)
}

func (m Mount) option(name string) string {
	prefix := name + "="
	for _, o := range m.Options {
		if strings.HasPrefix(o, prefix) {
			return o[len(prefix):]
		}
	}
	return ""
}

// SplitLowerDirs splits an overlay lowerdir value at the colons that are
// not escaped by a backslash, and unescapes "\:" and "\\".
func SplitLowerDirs(v string) []string {
	var (
		dirs []string
		cur  strings.Builder
	)
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && i+1 < len(v):
			i++
			cur.WriteByte(v[i])
		case c == ':':
			dirs = append(dirs, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(dirs, cur.String())
}

// JoinLowerDirs is the inverse of SplitLowerDirs.
func JoinLowerDirs(dirs []string) string {
	esc := make([]string, len(dirs))
	for i, d := range dirs {
		esc[i] = strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(d)
	}
	return strings.Join(esc, ":")
}

// Mounter performs mounts. Its zero value is what MountAll uses.
type Mounter struct {
	// LegacyOverlay skips the new mount API for overlay and always uses
	// mount(2), shortening the layer list when it is longer than a page:
	// what kernels before 6.8 get. Tests set it to cover that path.
	LegacyOverlay bool
}

// MountAll mounts each of mounts on target in order; see Mounter.MountAll.
func MountAll(mounts []Mount, target string) error {
	return Mounter{}.MountAll(mounts, target)
}

// MountAll mounts each of mounts on target, in order (a later one covers an
// earlier one). If one fails, those already mounted are unmounted.
func (mr Mounter) MountAll(mounts []Mount, target string) error {
	for i, m := range mounts {
		if err := mr.mount(m, target); err != nil {
			for j := 0; j < i; j++ {
				_ = unix.Unmount(target, unix.MNT_DETACH)
			}
			return fmt.Errorf("mount %s %s on %s: %w", m.Type, m.Source, target, err)
		}
	}
	return nil
}

func (mr Mounter) mount(m Mount, target string) error {
	opts, err := ParseOptions(m.Options)
	if err != nil {
		return err
	}
	switch m.Type {
	case "overlay":
		return mr.mountOverlay(m, opts, target)
	case "bind":
		opts.Flags |= unix.MS_BIND
	}
	return mountFlags(m.Source, target, m.Type, opts)
}

// mountFlags is plain mount(2). A bind mount ignores MS_RDONLY and the
// other per-mount flags, so they are applied by a remount afterwards.
func mountFlags(source, target, fstype string, opts Options) error {
	if opts.Flags&unix.MS_BIND == 0 {
		return unix.Mount(source, target, fstype, opts.Flags, opts.Data())
	}
	if err := unix.Mount(source, target, "", opts.Flags&(unix.MS_BIND|unix.MS_REC), ""); err != nil {
		return err
	}
	remount := opts.Flags &^ (unix.MS_BIND | unix.MS_REC)
	if remount == 0 {
		return nil
	}
	if err := unix.Mount("", target, "", unix.MS_REMOUNT|unix.MS_BIND|remount, ""); err != nil {
		_ = unix.Unmount(target, unix.MNT_DETACH)
		return fmt.Errorf("remount bind with flags %#x: %w", remount, err)
	}
	return nil
}

// Options is a parsed option list: mount flags and filesystem data.
type Options struct {
	// Flags are the MS_* flags.
	Flags uintptr
	// Attrs are the MOUNT_ATTR_* equivalents of Flags, for fsmount(2).
	Attrs int
	// FSData are the filesystem options, such as "lowerdir=a:b" or "index=off".
	FSData []string
}

// Data returns the filesystem options joined for mount(2).
func (o Options) Data() string {
	return strings.Join(o.FSData, ",")
}

type flagOpt struct {
	clear bool
	flag  uintptr
	attr  int
}

// lookupFlag tells whether an option is a VFS flag rather than
// filesystem data, and which.
func lookupFlag(s string) (flagOpt, bool) {
	switch s {
	case "ro":
		return flagOpt{flag: unix.MS_RDONLY, attr: unix.MOUNT_ATTR_RDONLY}, true
	case "rw":
		return flagOpt{clear: true, flag: unix.MS_RDONLY, attr: unix.MOUNT_ATTR_RDONLY}, true
	case "nosuid":
		return flagOpt{flag: unix.MS_NOSUID, attr: unix.MOUNT_ATTR_NOSUID}, true
	case "suid":
		return flagOpt{clear: true, flag: unix.MS_NOSUID, attr: unix.MOUNT_ATTR_NOSUID}, true
	case "nodev":
		return flagOpt{flag: unix.MS_NODEV, attr: unix.MOUNT_ATTR_NODEV}, true
	case "dev":
		return flagOpt{clear: true, flag: unix.MS_NODEV, attr: unix.MOUNT_ATTR_NODEV}, true
	case "noexec":
		return flagOpt{flag: unix.MS_NOEXEC, attr: unix.MOUNT_ATTR_NOEXEC}, true
	case "exec":
		return flagOpt{clear: true, flag: unix.MS_NOEXEC, attr: unix.MOUNT_ATTR_NOEXEC}, true
	case "noatime":
		return flagOpt{flag: unix.MS_NOATIME, attr: unix.MOUNT_ATTR_NOATIME}, true
	case "nodiratime":
		return flagOpt{flag: unix.MS_NODIRATIME, attr: unix.MOUNT_ATTR_NODIRATIME}, true
	case "relatime":
		return flagOpt{flag: unix.MS_RELATIME}, true
	case "strictatime":
		return flagOpt{flag: unix.MS_STRICTATIME, attr: unix.MOUNT_ATTR_STRICTATIME}, true
	case "sync":
		return flagOpt{flag: unix.MS_SYNCHRONOUS}, true
	case "bind":
		return flagOpt{flag: unix.MS_BIND}, true
	case "rbind":
		return flagOpt{flag: unix.MS_BIND | unix.MS_REC}, true
	}
	return flagOpt{}, false
}

// ParseOptions splits mount options into flags and filesystem data. An
// empty option is an error: it would make an ambiguous data string.
func ParseOptions(options []string) (Options, error) {
	var o Options
	for _, s := range options {
		if s == "" {
			return Options{}, errors.New("empty mount option")
		}
		f, ok := lookupFlag(s)
		switch {
		case !ok:
			if strings.ContainsRune(s, 0) {
				return Options{}, fmt.Errorf("mount option %q contains NUL", s)
			}
			o.FSData = append(o.FSData, s)
		case f.clear:
			o.Flags &^= f.flag
			o.Attrs &^= f.attr
		default:
			o.Flags |= f.flag
			o.Attrs |= f.attr
		}
	}
	return o, nil
}
