package engine

import "sync"

// unsaved holds what Create made of a container that `run` starts at
// once (CreateOptions.StartAfter): its process and bind mounts, and its
// monitor, started early (see Create). Start
// writes them with its own change of the record, one write transaction
// instead of two (each costs two fdatasyncs and the database's lock).
// Until then the record is the one reserve wrote, pending on this process:
// should the process die first, the next command removes the container,
// as it would have anyway.
type unsaved struct {
	mu       sync.Mutex
	m        map[string]createdFields
	monitors map[string]*monitorProc
}

// createdFields are the fields of a record Create fills in.
type createdFields struct {
	path   string
	args   []string
	mounts []MountPoint
}

func (u *unsaved) put(c *Container) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.m == nil {
		u.m = map[string]createdFields{}
	}
	u.m[c.ID] = createdFields{path: c.Path, args: c.Args, mounts: c.Mounts}
}

// has tells whether put kept something for id (a run's container).
func (u *unsaved) has(id string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	_, ok := u.m[id]
	return ok
}

// take returns and forgets what put kept for id.
func (u *unsaved) take(id string) (createdFields, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	f, ok := u.m[id]
	delete(u.m, id)
	return f, ok
}

// apply sets the fields on c.
func (f createdFields) apply(c *Container) {
	c.Path, c.Args, c.Mounts = f.path, f.args, f.mounts
}

// putMonitor keeps the monitor Create started for id.
func (u *unsaved) putMonitor(id string, m *monitorProc) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.monitors == nil {
		u.monitors = map[string]*monitorProc{}
	}
	u.monitors[id] = m
}

// monitor returns and forgets the monitor putMonitor kept for id.
func (u *unsaved) monitor(id string) (*monitorProc, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	m, ok := u.monitors[id]
	delete(u.monitors, id)
	return m, ok
}
