// Package selfexe gives the runtime a handle on its own binary that a
// container cannot write through, to start the container's init from. A
// process in the container that opens /proc/<init>/exe then reaches only
// that handle, never berth-runtime's binary on the host (CVE-2019-5736).
//
// The handle is the binary seen through a private read-only overlayfs mount
// (as runc 1.2 does): no copy, so it costs a fraction of a millisecond.
// Where overlayfs cannot be mounted (no privilege, no overlay), it is a
// sealed memfd copy of the binary, as runc 1.1 and crun do.
package selfexe

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE

// Open returns a handle on the running binary that cannot be written
// through. The caller executes it through its /proc/self/fd path and closes
// it afterwards.
func Open() (*os.File, error) {
	if f, err := ReadOnlyMount(); err == nil {
		return f, nil
	}
	return Clone()
}

// OpenWith is Open, and also returns a handle on the binary called name
// (no slash) in the running binary's directory, seen through the same
// read-only mount; other is nil if it does not exist there, is a symlink,
// or if the mount cannot be made (a second sealed copy is not made).
func OpenWith(name string) (own, other *os.File, err error) {
	if strings.Contains(name, "/") {
		return nil, nil, fmt.Errorf("binary name %q: has a slash", name)
	}
	own, mnt, err := readOnlyMount()
	if err != nil {
		own, err = Clone()
		return own, nil, err
	}
	defer unix.Close(mnt)
	// Not through a symlink: its target would be outside the view, and
	// writable.
	if fd, err := unix.Openat(mnt, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0); err == nil {
		other = os.NewFile(uintptr(fd), name+" (read-only)")
	}
	return own, other, nil
}

// ReadOnlyMount opens the running binary through a detached, read-only
// overlayfs mount of its directory. The mount is attached nowhere, so no
// path leads to it; writes through it, or through /proc/<pid>/exe of a
// process started from it, fail with EROFS.
func ReadOnlyMount() (*os.File, error) {
	f, mnt, err := readOnlyMount()
	if err != nil {
		return nil, err
	}
	unix.Close(mnt)
	return f, nil
}

// readOnlyMount is ReadOnlyMount, also returning the mount.
func readOnlyMount() (*os.File, int, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil, -1, fmt.Errorf("find own binary: %w", err)
	}
	// An overlay without an upper layer needs two lower ones; an empty
	// read-only tmpfs is the second.
	empty, err := detachedMount("tmpfs", [][2]string{{"size", "4k"}, {"mode", "0500"}})
	if err != nil {
		return nil, -1, err
	}
	defer unix.Close(empty)
	mnt, err := detachedMount("overlay", [][2]string{
		{"lowerdir+", filepath.Dir(exe)},
		{"lowerdir+", "/proc/self/fd/" + strconv.Itoa(empty)},
	})
	if err != nil {
		return nil, -1, err
	}
	fd, err := unix.Openat(mnt, filepath.Base(exe), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(mnt)
		return nil, -1, fmt.Errorf("open own binary through overlay: %w", err)
	}
	return os.NewFile(uintptr(fd), "berth-runtime (read-only)"), mnt, nil
}

// detachedMount creates a read-only, nosuid, nodev mount of fstype that is
// attached nowhere, with the given options in order.
func detachedMount(fstype string, opts [][2]string) (int, error) {
	fs, err := unix.Fsopen(fstype, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen %s: %w", fstype, err)
	}
	defer unix.Close(fs)
	for _, o := range opts {
		if err := unix.FsconfigSetString(fs, o[0], o[1]); err != nil {
			return -1, fmt.Errorf("%s option %s: %w", fstype, o[0], err)
		}
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return -1, fmt.Errorf("create %s: %w", fstype, err)
	}
	mnt, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV)
	if err != nil {
		return -1, fmt.Errorf("mount %s: %w", fstype, err)
	}
	return mnt, nil
}

// Clone returns a sealed memfd holding a copy of /proc/self/exe.
func Clone() (*os.File, error) {
	exe, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("open own binary: %w", err)
	}
	defer exe.Close()
	fd, err := unix.MemfdCreate("berth-runtime", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if err != nil {
		// Kernels before 6.3 do not know MFD_EXEC.
		fd, err = unix.MemfdCreate("berth-runtime", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	mem := os.NewFile(uintptr(fd), "berth-runtime (sealed)")
	fi, err := exe.Stat()
	if err != nil {
		mem.Close()
		return nil, fmt.Errorf("stat own binary: %w", err)
	}
	if err := copyAll(mem, exe, fi.Size()); err != nil {
		mem.Close()
		return nil, fmt.Errorf("copy own binary: %w", err)
	}
	if _, err := unix.FcntlInt(mem.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		mem.Close()
		return nil, fmt.Errorf("seal copy of own binary: %w", err)
	}
	return mem, nil
}

// copyAll copies size bytes with sendfile, falling back to a plain copy.
func copyAll(dst, src *os.File, size int64) error {
	var off int64
	for off < size {
		n, err := unix.Sendfile(int(dst.Fd()), int(src.Fd()), &off, int(size-off))
		if err != nil {
			if off == 0 {
				_, err = io.Copy(dst, src)
				return err
			}
			return err
		}
		if n == 0 {
			break
		}
	}
	if off != size {
		return fmt.Errorf("short copy: %d of %d bytes", off, size)
	}
	return nil
}

// IsSealed reports whether f carries the seals Clone applies; tests use it.
func IsSealed(f *os.File) (bool, error) {
	s, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
	if err != nil {
		return false, err
	}
	return s&seals == seals, nil
}
