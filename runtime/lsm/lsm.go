// Package lsm applies the Linux security module settings of an OCI
// configuration: process.apparmorProfile, process.selinuxLabel and
// linux.mountLabel. A label for a module the host does not run is
// accepted and ignored, as runc does, so one configuration serves hosts
// with and without the module; a label for a module the host runs must be
// applied, and an error stops the container before its process starts.
package lsm

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Host says which label-based modules the host kernel runs.
type Host struct {
	AppArmor bool
	SELinux  bool
}

// selinuxMagic is SELINUX_MAGIC from linux/magic.h.
const selinuxMagic = 0xf97cff8c

// Detect reads which modules are enabled, the way runc's libraries do:
// AppArmor from its module parameter, SELinux from a mounted selinuxfs.
func Detect() Host {
	var h Host
	if b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled"); err == nil {
		h.AppArmor = bytes.HasPrefix(b, []byte("Y"))
	}
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/selinux", &st); err == nil && uint32(st.Type) == selinuxMagic {
		h.SELinux = true
	}
	return h
}

// ExecAttrs sets the labels the next execve of the calling thread takes:
// the AppArmor profile and the SELinux process label, each only when the
// host runs that module. attrDir is the thread's LSM attribute directory,
// /proc/thread-self/attr in a container; it is a parameter for tests.
func (h Host) ExecAttrs(attrDir, apparmorProfile, selinuxLabel string) error {
	if apparmorProfile != "" && h.AppArmor {
		// Kernels since 5.1 have a directory per module; older ones share
		// the attr files, where AppArmor wants the "exec " command.
		path := filepath.Join(attrDir, "apparmor", "exec")
		if _, err := os.Stat(path); err != nil {
			path = filepath.Join(attrDir, "exec")
		}
		if err := writeAttr(path, "exec "+apparmorProfile); err != nil {
			return fmt.Errorf("process.apparmorProfile %q: %w", apparmorProfile, err)
		}
	}
	if selinuxLabel != "" && h.SELinux {
		if err := writeAttr(filepath.Join(attrDir, "exec"), selinuxLabel); err != nil {
			return fmt.Errorf("process.selinuxLabel %q: %w", selinuxLabel, err)
		}
	}
	return nil
}

// writeAttr writes an attribute in one write(2), as the kernel requires.
func writeAttr(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.Write([]byte(value))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// labelled tells the filesystems whose mounts take a SELinux context=
// option; bind mounts and filesystems with labels of their own do not.
func labelled(fsType string) bool {
	switch fsType {
	case "tmpfs", "devpts", "mqueue", "shm":
		return true
	}
	return false
}

// MountData returns the data string of a mount of fsType with the mount
// label added as a context= option, when the host runs SELinux and the
// filesystem takes one; otherwise data unchanged.
func (h Host) MountData(fsType, data, mountLabel string) (string, error) {
	if mountLabel == "" || !h.SELinux || !labelled(fsType) {
		return data, nil
	}
	// The quotes let the MCS categories' commas through (s0:c1,c2).
	if strings.ContainsAny(mountLabel, "\"\x00") {
		return "", errors.New("linux.mountLabel: contains a quote or NUL")
	}
	opt := `context="` + mountLabel + `"`
	if data == "" {
		return opt, nil
	}
	return data + "," + opt, nil
}
