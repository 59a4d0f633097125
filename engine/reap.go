package engine

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// pollable returns fd, made non-blocking, as a file that Go's poller
// watches.
func pollable(fd int, name string) (*os.File, error) {
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// reap waits until our child process of pidfd f (pollable) has exited, and
// reaps it.
func reap(f *os.File) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Read(func(fd uintptr) bool {
		var info unix.Siginfo
		for {
			switch unix.Waitid(unix.P_PIDFD, int(fd), &info, unix.WEXITED, nil) {
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false // running: wait until the pidfd is readable
			}
			return true
		}
	})
}
