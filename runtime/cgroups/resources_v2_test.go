package cgroups

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestSetUnifiedV2RefusesCoreFiles: linux.resources.unified must not
// reach the files that place processes or drive the cgroup (cgroup.procs
// would move any host process into the container's cgroup). The check is
// made before anything is written, so a plain directory stands in for the
// cgroup.
func TestSetUnifiedV2RefusesCoreFiles(t *testing.T) {
	dir := t.TempDir()
	for _, k := range []string{"cgroup.procs", "cgroup.threads", "cgroup.subtree_control", "cgroup.freeze", "cgroup.kill", "cgroup.type"} {
		if err := os.WriteFile(filepath.Join(dir, k), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		err := setUnifiedV2(dir, &specs.LinuxResources{Unified: map[string]string{k: "1"}})
		if err == nil || !strings.Contains(err.Error(), "linux.resources.unified."+k) || !strings.Contains(err.Error(), "managed by the runtime") {
			t.Errorf("unified %s: %v, want a refusal naming the key", k, err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, k)); len(b) != 0 {
			t.Errorf("unified %s: %q written", k, b)
		}
	}
	for _, k := range []string{"cgroup.max.descendants", "cgroup.max.depth"} {
		if !unifiedCoreLimit(k) {
			t.Errorf("%s is a limit unified may set", k)
		}
	}
}
