package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/runtime/cgroups"
	"berth/runtime/hooks"
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
	st, err := LoadLight(root, id)
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
	if !st.unchanged() {
		if st, err = LoadLight(root, id); err != nil {
			return gone(err)
		}
	}
	switch st.Status() {
	case specs.StateRunning:
		if !force {
			return fmt.Errorf("cannot delete container %s: %w (use --force)", id, ErrRunning)
		}
	case StatePaused:
		if !force {
			return fmt.Errorf("cannot delete container %s: %w (use --force)", id, ErrPaused)
		}
	}
	// A created container's waiting init goes without force, and so do
	// processes left in the cgroup of a stopped container without its own
	// pid namespace.
	if err := st.killAll(); err != nil {
		return err
	}
	// The state as it was, for the poststop hooks once it is gone.
	final := st.OCI()
	if err := st.destroy(); err != nil {
		return err
	}
	if st.Config != nil {
		runPoststop(st.Config.Hooks, final)
	}
	return nil
}

// runPoststop runs the poststop hooks after the container is gone; as the
// runtime spec says, a failure is logged as a warning and the lifecycle
// goes on.
func runPoststop(h *specs.Hooks, state OCIState) {
	list := hooks.List(h, hooks.Poststop)
	if len(list) == 0 {
		return
	}
	b, err := json.Marshal(state)
	if err != nil {
		slog.Warn("poststop hooks not run", "id", state.ID, "error", err)
		return
	}
	for _, err := range hooks.RunEach(context.Background(), hooks.Poststop, list, b) {
		slog.Warn("poststop hook failed", "id", state.ID, "error", err)
	}
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
				waitGone(p, killTimeout)
			}
		}
	}
	if st.Pid != 0 && !waitGone(st.Pid, killTimeout) {
		return fmt.Errorf("container %s: init %d did not exit after SIGKILL", st.ID, st.Pid)
	}
	return nil
}

// thaw lets the processes of a frozen cgroup run again, so the SIGKILL
// they were sent takes effect: a v1 freezer holds even fatal signals. A
// create killed while its cgroup was frozen, or a paused container, would
// otherwise never die.
func thaw(m *cgroups.Manager) {
	if m == nil {
		return
	}
	for name, dir := range m.Paths {
		for _, c := range strings.Split(name, ",") {
			if c == "freezer" {
				_ = os.WriteFile(filepath.Join(dir, "freezer.state"), []byte("THAWED"), 0)
			}
		}
	}
	if m.Mode == cgroups.V2 {
		_ = m.Thaw()
	}
}

// destroy removes the cgroup and the state directory.
func (st *State) destroy() error {
	if sharesMountNS(st.Config) && st.Rootfs != "" {
		if err := unmountNew(st.Rootfs, st.HostMounts); err != nil {
			return fmt.Errorf("remove the mounts of %s: %w", st.ID, err)
		}
	}
	if st.Cgroup != nil {
		if err := st.Cgroup.Destroy(); err != nil {
			return err
		}
	}
	if err := removeStateDir(st.dir); err != nil {
		return fmt.Errorf("remove state of %s: %w", st.ID, err)
	}
	return nil
}

// removeStateDir removes a container's state directory: the files the
// runtime puts there by name, then the directory; only when something
// else is left there is the directory walked.
func removeStateDir(dir string) error {
	for _, name := range []string{stateFile, fifoName} {
		if err := unix.Unlink(filepath.Join(dir, name)); err != nil && !errors.Is(err, unix.ENOENT) {
			return os.RemoveAll(dir)
		}
	}
	if err := unix.Rmdir(dir); err != nil && !errors.Is(err, unix.ENOENT) {
		return os.RemoveAll(dir)
	}
	return nil
}
