package initproc

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sigaction is the kernel's struct sigaction for rt_sigaction(2) (x86-64
// and arm64 lay it out alike).
type sigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// sigDFL and sigIGN are the kernel's SIG_DFL and SIG_IGN.
const (
	sigDFL = 0
	sigIGN = 1
)

// resetIgnoredSignals gives every signal ignored in this process its
// default action back. An ignored signal stays ignored across execve, so
// a berth or runtime started under nohup (SIGHUP ignored), or by a shell
// that ignores SIGINT, would hand that on to the container's process,
// whose shell then cannot even trap it; Docker's containers start with
// every signal at its default. Signals this process handles need nothing:
// execve resets them.
func resetIgnoredSignals() error {
	for sig := 1; sig <= 64; sig++ {
		if sig == int(unix.SIGKILL) || sig == int(unix.SIGSTOP) {
			continue
		}
		var old sigaction
		if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), 0, uintptr(unsafe.Pointer(&old)), 8, 0, 0); e != 0 {
			// Numbers the kernel does not take are not signals here.
			continue
		}
		if old.handler != sigIGN {
			continue
		}
		act := sigaction{handler: sigDFL}
		if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0); e != 0 {
			return fmt.Errorf("restore the default action of signal %d: %w", sig, e)
		}
	}
	return nil
}
