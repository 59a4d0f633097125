package container

import (
	"time"

	"golang.org/x/sys/unix"
)

// waitGone waits up to d until pid has exited, whoever its parent is (a
// pidfd becomes readable when its process exits); it reports whether the
// process is gone.
func waitGone(pid int, d time.Duration) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return true
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		n, err := unix.Poll(fds, int(left.Milliseconds())+1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return true
		}
		if n > 0 {
			return true
		}
	}
}
