package spec

import "testing"

// TestWarmConfig: the config Warm decodes is valid, so that Warm goes
// through the whole decoder and validation, not an early error.
func TestWarmConfig(t *testing.T) {
	s, err := Parse([]byte(warmConfig))
	if err != nil {
		t.Fatal(err)
	}
	if s.Linux == nil || s.Linux.Seccomp == nil || len(s.Linux.Seccomp.Syscalls) != 1 || s.Process == nil || len(s.Mounts) != 1 {
		t.Errorf("the warm config lost fields: %+v", s)
	}
}
