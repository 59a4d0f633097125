package cgroups

// Host is the cgroup layout the calling process sees: the hierarchies
// mounted in its mount namespace and its own cgroup in each. Reading it
// once serves every New, and can overlap other work.
type Host struct {
	mode Mode
	hs   []hierarchy
	own  map[string]string
}

// ReadHost reads the cgroup layout of the calling process.
func ReadHost() (*Host, error) {
	mode, err := HostMode("/sys/fs/cgroup")
	if err != nil {
		return nil, err
	}
	own, err := ownCgroups()
	if err != nil {
		return nil, err
	}
	hs, err := hierarchies(mode, wanted(mode, own))
	if err != nil {
		return nil, err
	}
	return &Host{mode: mode, hs: hs, own: own}, nil
}
