package container

import (
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/runtime/seccomp"
)

// seccompCacheDir holds compiled seccomp filters under the state root. An
// "@" cannot be part of a container id, so it never names a container.
const seccompCacheDir = "@cache/seccomp"

// seccompFilter returns the compiled linux.seccomp of s, from the runtime's
// cache when the profile was compiled before; nil without a profile. A bad
// profile is an error naming its field, before anything starts.
func seccompFilter(root string, s *specs.Spec) (*seccomp.Filter, error) {
	if s == nil || s.Linux == nil || s.Linux.Seccomp == nil {
		return nil, nil
	}
	return seccomp.Cached(filepath.Join(root, seccompCacheDir), s.Linux.Seccomp)
}
