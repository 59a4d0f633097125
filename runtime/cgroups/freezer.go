package cgroups

import (
	"errors"
	"fmt"
	"time"
)

// freezeTimeout bounds how long Freeze waits for every task to stop.
const freezeTimeout = 10 * time.Second

// Freeze stops every process of the cgroup (v1 freezer.state, v2
// cgroup.freeze) and waits until the kernel reports the cgroup frozen.
func (m *Manager) Freeze() error {
	return m.setFrozen(true)
}

// Thaw lets the processes of a frozen cgroup run again.
func (m *Manager) Thaw() error {
	return m.setFrozen(false)
}

func (m *Manager) setFrozen(frozen bool) error {
	if m.Mode == V1 {
		dir, ok := m.v1Dir("freezer")
		if !ok {
			return errNoController("freezer")
		}
		want := "THAWED"
		if frozen {
			want = "FROZEN"
		}
		deadline := time.Now().Add(freezeTimeout)
		for {
			if err := writeFile(dir, "freezer.state", want); err != nil {
				return err
			}
			cur, err := readString(dir, "freezer.state")
			if err != nil {
				return err
			}
			if cur == want {
				return nil
			}
			if time.Now().After(deadline) {
				_ = writeFile(dir, "freezer.state", "THAWED")
				return fmt.Errorf("cgroup %s: still %s after %s", dir, cur, freezeTimeout)
			}
			time.Sleep(time.Millisecond)
		}
	}
	dir, ok := m.v2Dir()
	if !ok || !exists(dir, "cgroup.freeze") {
		return errors.New("cgroup.freeze is not available on this host")
	}
	val := "0"
	if frozen {
		val = "1"
	}
	if err := writeFile(dir, "cgroup.freeze", val); err != nil {
		return err
	}
	deadline := time.Now().Add(freezeTimeout)
	for {
		ev, err := readKeyValues(dir, "cgroup.events")
		if err != nil {
			return err
		}
		if (ev["frozen"] == 1) == frozen {
			return nil
		}
		if time.Now().After(deadline) {
			_ = writeFile(dir, "cgroup.freeze", "0")
			return fmt.Errorf("cgroup %s: not frozen after %s", dir, freezeTimeout)
		}
		time.Sleep(time.Millisecond)
	}
}

// Frozen reports whether the cgroup is frozen.
func (m *Manager) Frozen() (bool, error) {
	if m.Mode == V1 {
		dir, ok := m.v1Dir("freezer")
		if !ok {
			return false, nil
		}
		s, err := readString(dir, "freezer.state")
		if err != nil {
			return false, err
		}
		return s == "FROZEN", nil
	}
	dir, ok := m.v2Dir()
	if !ok || !exists(dir, "cgroup.freeze") {
		return false, nil
	}
	s, err := readString(dir, "cgroup.freeze")
	if err != nil {
		return false, err
	}
	return s == "1", nil
}
