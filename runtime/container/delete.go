package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/runtime/cgroups"
)

// killTimeout bounds how long Delete waits for killed processes.
const killTimeout = 10 * time.Second

// Delete removes a container: its cgroup and state. A created container's
// waiting init is killed; a running one only with force.
func Delete(root, id string, force bool) error {
	gone := func(err error) error {
		if force && errors.Is(err, ErrNotExist) {
			return nil
		}
		return err
	}
	st, err := Load(root, id)
	if err != nil {
		return gone(err)
	}
	unlock, err := lockDir(st.dir)
	if err != nil {
		return gone(fmt.Errorf("container %q: %w", id, err))
	}
	defer unlock()
	// A create or delete holding the lock may have changed the container
	// (or removed it) meanwhile.
	if st, err = Load(root, id); err != nil {
		return gone(err)
	}
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
			thaw(st.Cgroup)
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

// thaw lets the processes of a frozen cgroup v1 freezer run again, so the
// SIGKILL they were sent takes effect: a v1 freezer holds even fatal
// signals (v2 does not). A create killed while its cgroup was frozen, or a
// paused container, would otherwise never die.
func thaw(m *cgroups.Manager) {
	for name, dir := range m.Paths {
		for _, c := range strings.Split(name, ",") {
			if c == "freezer" {
				_ = os.WriteFile(filepath.Join(dir, "freezer.state"), []byte("THAWED"), 0)
			}
		}
	}
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
