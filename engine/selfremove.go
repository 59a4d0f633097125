package engine

import (
	"context"
	"os"
	"sync"
	"time"

	"berth/engine/monitor"
)

// removers are the containers whose removal this process took on: a
// foreground `run --rm` tells the container's monitor, with its go-ahead
// ("S <pid>"), that it removes the container itself once it exits, and
// does it in-process instead of waiting for the monitor's exit command (a
// new berth process: its start is a good part of run --rm's time). The
// monitor still runs that exit command if this process ends without having
// removed the container (killed, say), so a killed run leaves none.
type removers struct {
	mu sync.Mutex
	m  map[string]removal
}

// removal is a container this process removes itself.
type removal struct {
	// monitorDone is closed when the container's monitor, our child, has
	// ended.
	monitorDone <-chan struct{}
	// runtime is the container's OCI runtime.
	runtime string
	// sync is our end of the monitor's handshake socket: "D" on it says
	// the removal is done; its close without one (this process's end,
	// killed perhaps) has the monitor run its exit command.
	sync *os.File
}

func (r *removers) add(id string, x removal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]removal{}
	}
	r.m[id] = x
}

// get returns the removal of a container this process removes itself,
// and whether it is one.
func (r *removers) get(id string) (removal, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	x, ok := r.m[id]
	return x, ok
}

func (r *removers) drop(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, id)
}

// removeSelf removes a container this process took the removal of, once
// it has exited, tells its monitor ("D"), and waits (until deadline) for
// the monitor, which then ends without its exit command. It returns false
// if id is not such a container.
func (e *Engine) removeSelf(ctx context.Context, id string, deadline time.Time) bool {
	x, ok := e.removers.get(id)
	if !ok {
		return false
	}
	// The monitor waits for us (or our end) before its exit command:
	// cleanup leaves it alone (killMonitor) and it goes by itself once
	// told. It sent us the exit before it had the runtime delete the
	// container: the removal runs meanwhile.
	// Only a complete removal (record included) is "D": the directory's
	// end alone is not, a removal killed after it leaves the record.
	if err := e.Remove(ctx, id, true, true); err == nil {
		_, _ = x.sync.Write([]byte("D\n"))
	}
	x.sync.Close()
	select {
	case <-x.monitorDone:
	case <-time.After(time.Until(deadline)):
	}
	e.removers.drop(id)
	// Should the monitor's delete have failed (or not run), the runtime
	// still has the container: delete it here, as cleanup would have.
	e.runtimeDelete(&Container{ID: id, Runtime: x.runtime})
	return true
}

// monitorDeletes tells whether the container's monitor has the runtime
// delete it and this process need not: a container this process removes
// itself whose exit the monitor recorded (it deletes the container right
// after, and removeSelf makes sure it did).
func (e *Engine) monitorDeletes(c *Container) bool {
	if _, ok := e.removers.get(c.ID); !ok {
		return false
	}
	var exit monitor.Exit
	return monitor.ReadJSON(e.dir(c.ID), monitor.ExitFile, &exit) == nil && exit.Final
}
