package container

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// ExitStatus turns a wait status into a shell-style exit code: the exit
// status, or 128 plus the signal that killed the process.
func ExitStatus(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// forwardAndWait relays the signals the runtime receives to pid and reaps
// children until pid exits, returning its exit code. The runtime must be
// pid's parent or its child subreaper. It blocks in wait4 rather than
// waiting for SIGCHLD, which Go delivers milliseconds late.
func forwardAndWait(pid int) int {
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs)
	defer signal.Stop(sigs)
	go func() {
		for s := range sigs {
			sig, ok := s.(unix.Signal)
			if !ok {
				continue
			}
			switch sig {
			case unix.SIGCHLD, unix.SIGWINCH, unix.SIGURG, unix.SIGPIPE:
				continue
			}
			_ = unix.Kill(pid, sig)
		}
	}()
	for {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			// No children left: pid was reaped elsewhere.
			return -1
		}
		if wpid == pid {
			return ExitStatus(ws)
		}
	}
}
