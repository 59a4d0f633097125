package container

import (
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/runtime/cgroups"
)

// TestStatusPaused: a live container whose freezer says FROZEN is paused;
// THAWED (or FREEZING) is not.
func TestStatusPaused(t *testing.T) {
	dir := t.TempDir()
	freezer := filepath.Join(dir, "freezer")
	if err := os.Mkdir(freezer, 0o755); err != nil {
		t.Fatal(err)
	}
	st := &State{
		ID: "x", Pid: os.Getpid(), dir: dir,
		Cgroup: &cgroups.Manager{Mode: cgroups.V1, Paths: map[string]string{"freezer": freezer}},
	}
	for state, want := range map[string]specs.ContainerState{
		"FROZEN": StatePaused, "THAWED": specs.StateRunning, "FREEZING": specs.StateRunning,
	} {
		if err := os.WriteFile(filepath.Join(freezer, "freezer.state"), []byte(state+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := st.Status(); got != want {
			t.Errorf("freezer.state %s: status %s, want %s", state, got, want)
		}
	}
}

func TestMergeResources(t *testing.T) {
	lim, swap, quota := int64(100), int64(200), int64(5000)
	dst := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: &lim},
		CPU:    &specs.LinuxCPU{Cpus: "0", Quota: &quota},
	}
	newLim := int64(300)
	MergeResources(dst, &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: &newLim, Swap: &swap},
		CPU:    &specs.LinuxCPU{Mems: "0"},
		Pids:   &specs.LinuxPids{Limit: new(int64(9))},
	})
	if *dst.Memory.Limit != 300 || *dst.Memory.Swap != 200 || dst.CPU.Cpus != "0" || dst.CPU.Mems != "0" || *dst.CPU.Quota != 5000 || *dst.Pids.Limit != 9 {
		t.Errorf("merged: memory %+v cpu %+v pids %+v", dst.Memory, dst.CPU, dst.Pids)
	}
	newLim = 1
	if *dst.Memory.Limit != 300 {
		t.Error("MergeResources aliases the source's values")
	}
}
