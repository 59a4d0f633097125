package seccomp

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"

	"berth/runtime/seccompfilter"
)

// Cached returns the compiled filter of cfg, compiling it only the first
// time: libseccomp takes tens of milliseconds over Docker's profile, which
// nearly every container uses. The compiled program is kept in dir, keyed
// by the profile, the libseccomp version and the architecture; dir must be
// the runtime's own (root-only) state, since a program read from it is
// loaded as it is.
func Cached(dir string, cfg *specs.LinuxSeccomp) (*Filter, error) {
	key, err := cacheKey(cfg)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, key+".json")
	if b, err := os.ReadFile(path); err == nil {
		var f Filter
		if json.Unmarshal(b, &f) == nil && len(f.Prog) > 0 && len(f.Prog) <= seccompfilter.MaxProgram {
			return &f, nil
		}
		// A damaged entry is compiled again and replaced.
	}
	f, err := Build(cfg)
	if err != nil {
		return nil, err
	}
	if err := store(dir, path, f); err != nil {
		return nil, err
	}
	return f, nil
}

func cacheKey(cfg *specs.LinuxSeccomp) (string, error) {
	if cfg == nil {
		return "", errors.New("linux.seccomp: no configuration")
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return "", fmt.Errorf("linux.seccomp: %w", err)
	}
	major, minor, micro := libseccomp.GetLibraryVersion()
	h := sha256.New()
	fmt.Fprintf(h, "libseccomp %d.%d.%d %s optimize=%d\n", major, minor, micro, runtime.GOARCH, optimizeLevel)
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// store writes the filter atomically: a concurrent create reads either
// nothing or a whole entry.
func store(dir, path string, f *Filter) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("seccomp cache %s: %w", dir, err)
	}
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("seccomp cache: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("seccomp cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("seccomp cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("seccomp cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("seccomp cache: %w", err)
	}
	return nil
}
