package container

import (
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ErrPaused is returned for an operation a paused container refuses.
var ErrPaused = errors.New("container is paused")

// ErrNotPaused is returned by Resume for a container that is not paused.
var ErrNotPaused = errors.New("container is not paused")

// Pause freezes every process of a created or running container.
func Pause(root, id string) error {
	st, unlock, err := loadLocked(root, id)
	if err != nil {
		return err
	}
	defer unlock()
	switch st.Status() {
	case specs.StateCreated, specs.StateRunning:
	case StatePaused:
		return fmt.Errorf("cannot pause container %s: %w", id, ErrPaused)
	default:
		return fmt.Errorf("cannot pause container %s: %w", id, ErrNotRunning)
	}
	if st.Cgroup == nil {
		return fmt.Errorf("cannot pause container %s: it has no cgroup", id)
	}
	if err := st.Cgroup.Freeze(); err != nil {
		return fmt.Errorf("pause container %s: %w", id, err)
	}
	return nil
}

// Resume thaws a paused container.
func Resume(root, id string) error {
	st, unlock, err := loadLocked(root, id)
	if err != nil {
		return err
	}
	defer unlock()
	if s := st.Status(); s != StatePaused {
		return fmt.Errorf("cannot resume container %s (%s): %w", id, s, ErrNotPaused)
	}
	if err := st.Cgroup.Thaw(); err != nil {
		return fmt.Errorf("resume container %s: %w", id, err)
	}
	return nil
}

// loadLocked loads a container's state under its lock, so a concurrent
// create or delete does not change it meanwhile.
func loadLocked(root, id string) (*State, func(), error) {
	st, err := Load(root, id)
	if err != nil {
		return nil, nil, err
	}
	unlock, err := lockDir(st.dir)
	if err != nil {
		if errors.Is(err, ErrNotExist) {
			return nil, nil, fmt.Errorf("container %q: %w", id, ErrNotExist)
		}
		return nil, nil, err
	}
	if st, err = Load(root, id); err != nil {
		unlock()
		return nil, nil, err
	}
	return st, unlock, nil
}
