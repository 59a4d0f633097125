// Package selfexe makes a sealed in-memory copy of the running binary, from
// which a container's init is started. A process in the container that
// opens /proc/<init>/exe then reaches only the copy, which the kernel
// refuses to change, never berth-runtime's binary on the host
// (CVE-2019-5736).
package selfexe

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE

// Clone returns a sealed memfd holding a copy of /proc/self/exe. The caller
// executes it through its /proc/self/fd path and closes it afterwards.
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
