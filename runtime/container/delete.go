package container

import (
	"errors"
	"fmt"
	"os"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// killTimeout bounds how long Delete waits for killed processes.
const killTimeout = 10 * time.Second

// Delete removes a container: its cgroup and state. A created container's
// waiting init is killed; a running one only with force.
func Delete(root, id string, force bool) error {
	st, err := Load(root, id)
	if err != nil {
		if force && errors.Is(err, ErrNotExist) {
			return nil
		}
		return err
	}
	unlock, err := lockDir(st.dir)
	if err != nil {
		return err
	}
	defer unlock()
	if st.Status() == specs.StateRunning && !force {
		return fmt.Errorf("cannot delete container %s: %w (use --force)", id, ErrRunning)
	}
	// A created container's waiting init goes without force, and so do
	// processes left in the cgroup of a stopped container without its own
	// pid namespace.
	if err := st.killAll(); err != nil {
		return err
	}
	return st.destroy()
}

// killAll SIGKILLs every process of the container and waits for them.
func (st *State) killAll() error {
	if st.Pid != 0 {
		if err := signalProcess(st.Pid, st.PidStart, unix.SIGKILL); err != nil && !errors.Is(err, ErrNotRunning) {
			return err
		}
	}
	if st.Cgroup != nil {
		if pids, err := st.Cgroup.Procs(); err == nil {
			for _, p := range pids {
				_ = unix.Kill(p, unix.SIGKILL)
			}
			for _, p := range pids {
				waitGoneTimeout(p, killTimeout)
			}
		}
	}
	if st.Pid != 0 && !waitGoneTimeout(st.Pid, killTimeout) {
		return fmt.Errorf("container %s: init %d did not exit after SIGKILL", st.ID, st.Pid)
	}
	return nil
}

// destroy removes the cgroup and the state directory.
func (st *State) destroy() error {
	if st.Cgroup != nil {
		if err := st.Cgroup.Destroy(); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(st.dir); err != nil {
		return fmt.Errorf("remove state of %s: %w", st.ID, err)
	}
	return nil
}
