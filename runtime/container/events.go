package container

import (
	"fmt"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/runtime/cgroups"
)

// Event is one record of `events`, in runc's JSON: type "stats" with
// cgroups.Stats as data, or "oom".
type Event struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

// Stats reads the usage of a container that has not stopped.
func Stats(root, id string) (*cgroups.Stats, error) {
	st, err := Load(root, id)
	if err != nil {
		return nil, err
	}
	return st.stats()
}

func (st *State) stats() (*cgroups.Stats, error) {
	switch st.Status() {
	case specs.StateCreated, specs.StateRunning, StatePaused:
	default:
		return nil, fmt.Errorf("cannot read stats of container %s: %w", st.ID, ErrNotRunning)
	}
	if st.Cgroup == nil {
		return nil, fmt.Errorf("cannot read stats of container %s: it has no cgroup", st.ID)
	}
	s, err := st.Cgroup.Stats()
	if err != nil {
		return nil, fmt.Errorf("read stats of container %s: %w", st.ID, err)
	}
	return s, nil
}

// Events emits a stats event every interval and an oom event each time the
// container runs out of memory, until it stops, done is closed, or emit
// fails.
func Events(root, id string, interval time.Duration, done <-chan struct{}, emit func(Event) error) error {
	if interval <= 0 {
		return fmt.Errorf("--interval %s: must be positive", interval)
	}
	st, err := Load(root, id)
	if err != nil {
		return err
	}
	switch st.Status() {
	case specs.StateCreated, specs.StateRunning, StatePaused:
	default:
		return fmt.Errorf("cannot watch container %s: %w", id, ErrNotRunning)
	}
	if st.Cgroup == nil {
		return fmt.Errorf("cannot watch container %s: it has no cgroup", id)
	}
	stop := make(chan struct{})
	defer close(stop)
	baseline, _ := st.Cgroup.OOMKillCount()
	oom, err := st.Cgroup.NotifyOOM(stop)
	if err != nil {
		return fmt.Errorf("watch container %s: %w", id, err)
	}
	emitted := 0
	emitOOM := func() error {
		emitted++
		return emit(Event{Type: "oom", ID: id})
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return nil
		case _, ok := <-oom:
			if !ok {
				oom = nil
				continue
			}
			if err := emitOOM(); err != nil {
				return err
			}
		case <-tick.C:
			if st.Status() == specs.StateStopped {
				// An OOM kill that stopped the container is reported
				// even if its notification lost the race with the exit.
				if n, err := st.Cgroup.OOMKillCount(); err == nil && n > baseline && emitted == 0 {
					return emitOOM()
				}
				return nil
			}
			s, err := st.Cgroup.Stats()
			if err != nil {
				return fmt.Errorf("read stats of container %s: %w", id, err)
			}
			if err := emit(Event{Type: "stats", ID: id, Data: s}); err != nil {
				return err
			}
		}
	}
}
