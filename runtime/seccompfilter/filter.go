// Package seccompfilter holds a compiled seccomp program and loads it on
// the calling thread, with the seccomp(2) system call, as runc does: the
// flags are the ones the configuration asks for and never
// SECCOMP_FILTER_FLAG_TSYNC. The filter is per thread, and the thread that
// loads it is the one that executes the container's program (execve keeps
// the filter and ends the other threads).
//
// It is apart from package seccomp, which compiles programs with
// libseccomp (cgo), so that the container's init, which only loads them,
// can be built without cgo (cmd/berth-runtime-init).
package seccompfilter

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// MaxProgram is the kernel's limit on a filter's length (BPF_MAXINSNS).
const MaxProgram = 4096

// Filter is a compiled seccomp program, ready to load. It crosses from the
// runtime to the container's init as JSON, so init never runs libseccomp.
type Filter struct {
	Prog  []unix.SockFilter `json:"prog"`
	Flags uintptr           `json:"flags"`
	// Ignored lists the system call names of the configuration that the
	// host's libseccomp does not know; their rules were left out.
	Ignored []string `json:"ignored,omitempty"`
}

// Load installs the filter on the calling thread. The caller must have
// locked its goroutine to the thread, and either have set no_new_privs or
// hold CAP_SYS_ADMIN in its user namespace. Nothing else should run on the
// thread between Load and execve: the filter already applies.
func (f *Filter) Load() error {
	if len(f.Prog) == 0 {
		return errors.New("load seccomp filter: empty program")
	}
	fprog := unix.SockFprog{Len: uint16(len(f.Prog)), Filter: &f.Prog[0]}
	_, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, f.Flags, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(f)
	if e != 0 {
		if e == unix.EACCES {
			return fmt.Errorf("load seccomp filter: %w (needs no_new_privs or CAP_SYS_ADMIN)", e)
		}
		return fmt.Errorf("load seccomp filter: %w", e)
	}
	return nil
}

// Len is the number of BPF instructions of the filter.
func (f *Filter) Len() int { return len(f.Prog) }
