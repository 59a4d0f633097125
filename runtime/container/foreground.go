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

// signalRelay holds the signals the runtime receives from the moment it
// is made, so that one arriving while a foreground container or exec'd
// process starts neither kills the runtime (leaving the process without
// its parent) nor is lost: forwardAndWait passes the held ones on.
type signalRelay struct {
	ch chan os.Signal
	// ready is closed once the signals are caught.
	ready chan struct{}
}

// catchSignals starts holding the signals a process could be sent; stop
// ends it. SIGCHLD and SIGURG (the Go scheduler's preemption signal) are
// left out: they come often, mean nothing to the container, and could
// fill the buffer so that a signal that matters is dropped.
//
// Go enables each signal with a round trip to its signal-mask thread,
// 3 to 5 ms for all of them, so this happens in the background while the
// container is prepared: call wait before the process exists.
func catchSignals() *signalRelay {
	r := &signalRelay{ch: make(chan os.Signal, 128), ready: make(chan struct{})}
	var sigs []os.Signal
	for s := unix.Signal(1); s <= 64; s++ {
		switch s {
		case unix.SIGKILL, unix.SIGSTOP, unix.SIGCHLD, unix.SIGURG, unix.SIGWINCH:
			continue
		}
		sigs = append(sigs, s)
	}
	go func() {
		signal.Notify(r.ch, sigs...)
		close(r.ready)
	}()
	return r
}

// wait returns once the signals are caught.
func (r *signalRelay) wait() { <-r.ready }

// stop lets the signals take their default action again. It returns at
// once (signal.Stop takes milliseconds, which a short foreground run would
// otherwise spend before exiting) and ends forwardAndWait's relaying.
func (r *signalRelay) stop() {
	go func() {
		<-r.ready
		signal.Stop(r.ch)
		close(r.ch)
	}()
}

// forwardAndWait relays the signals the runtime receives (and those relay
// held already) to pid and reaps children until pid exits, returning its
// exit code. The runtime must be pid's parent or its child subreaper. It
// blocks in wait4 rather than waiting for SIGCHLD, which Go delivers
// milliseconds late.
func forwardAndWait(pid int, relay *signalRelay) int {
	go func() {
		for s := range relay.ch {
			sig, ok := s.(unix.Signal)
			if !ok {
				continue
			}
			switch sig {
			case unix.SIGPIPE:
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
