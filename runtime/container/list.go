package container

import (
	"errors"
	"fmt"
	"os"
	"sort"
)

// List returns the state of every container under root.
func List(root string) ([]*State, error) {
	ents, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", root, err)
	}
	var out []*State
	for _, e := range ents {
		if !e.IsDir() || ValidateID(e.Name()) != nil {
			continue
		}
		st, err := Load(root, e.Name())
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Processes returns the host pids of the container's processes.
func (st *State) Processes() ([]int, error) {
	if st.Cgroup == nil {
		return []int{st.Pid}, nil
	}
	return st.Cgroup.Procs()
}
