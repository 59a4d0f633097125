// Package container is the runtime's side of the OCI lifecycle: it creates,
// starts, signals, execs into and deletes containers, and keeps their state
// under the runtime's root directory, so any later berth-runtime command
// (or another process) can find them.
package container

import (
	"fmt"
)

// MaxIDLength bounds container ids: they name a directory and a cgroup, and
// file names are at most 255 bytes.
const MaxIDLength = 255

// ValidateID accepts ids made of [A-Za-z0-9_.-], as runc does, that are not
// "." or "..".
func ValidateID(id string) error {
	if id == "" {
		return fmt.Errorf("container id is empty")
	}
	if len(id) > MaxIDLength {
		return fmt.Errorf("container id is longer than %d characters", MaxIDLength)
	}
	if id == "." || id == ".." {
		return fmt.Errorf("invalid container id %q", id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '.', c == '-':
		default:
			return fmt.Errorf("invalid container id %q: only [A-Za-z0-9_.-] are allowed", id)
		}
	}
	return nil
}
