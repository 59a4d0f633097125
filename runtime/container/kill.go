package container

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ParseSignal accepts a signal number or name, with or without "SIG"
// ("9", "KILL", "SIGKILL", "sigterm"), as runc and docker do.
func ParseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal number %d", n)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

// Kill sends sig to the container's init, or with all to every process in
// its cgroup.
func Kill(root, id string, sig unix.Signal, all bool) error {
	st, err := LoadLight(root, id)
	if err != nil {
		return err
	}
	switch st.Status() {
	case specs.StateCreated, specs.StateRunning:
	case StatePaused:
		// SIGKILL still ends a paused container (as delete --force
		// does); anything else would wait unseen until resume.
		if sig != unix.SIGKILL {
			return fmt.Errorf("cannot signal container %s with %s: %w (resume it first)", id, unix.SignalName(sig), ErrPaused)
		}
		defer thaw(st.Cgroup)
	case specs.StateStopped:
		// As runc: --all still reaches what a stopped container without
		// its own pid namespace left in its cgroup (containerd sends
		// them SIGKILL this way once the init has exited).
		if all && st.Cgroup != nil {
			if pids, err := st.Cgroup.Procs(); err == nil && len(pids) > 0 {
				return st.signalAll(sig)
			}
		}
		return fmt.Errorf("cannot signal container %s: %w", id, ErrNotRunning)
	default:
		return fmt.Errorf("cannot signal container %s: %w", id, ErrNotRunning)
	}
	if all {
		return st.signalAll(sig)
	}
	return signalProcess(st.Pid, st.PidStart, sig)
}

// signalProcess signals pid through a pidfd, after checking the pidfd's
// process is the one that started at start, so a recycled pid is never hit.
func signalProcess(pid int, start uint64, sig unix.Signal) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return ErrNotRunning
		}
		return fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	defer unix.Close(fd)
	if !alive(pid, start) {
		return ErrNotRunning
	}
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return ErrNotRunning
		}
		return fmt.Errorf("signal %d: %w", pid, err)
	}
	return nil
}

// signalAll sends sig to every process of the container's cgroup.
func (st *State) signalAll(sig unix.Signal) error {
	if st.Cgroup == nil {
		return signalProcess(st.Pid, st.PidStart, sig)
	}
	pids, err := st.Cgroup.Procs()
	if err != nil {
		return err
	}
	for _, p := range pids {
		if err := unix.Kill(p, sig); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("signal %d: %w", p, err)
		}
	}
	return nil
}
