package engine

import (
	"os"

	"golang.org/x/sys/unix"
)

// reap waits until our child process of pidfd f has exited, and reaps
// it: in Go's poller if f is non-blocking, in waitid otherwise.
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
