package engine

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/engine/ocispec"
)

func TestApplyUpdate(t *testing.T) {
	var r specs.LinuxResources
	err := applyUpdate(&r, []string{"--memory", "64m", "--memory-swap", "-1", "--cpu-period", "100000", "--cpu-quota", "50000",
		"--cpu-shares", "512", "--cpuset-cpus", "0", "--pids-limit", "0"})
	if err != nil {
		t.Fatal(err)
	}
	if *r.Memory.Limit != 64<<20 || *r.Memory.Swap != -1 || *r.CPU.Period != 100000 || *r.CPU.Quota != 50000 ||
		*r.CPU.Shares != 512 || r.CPU.Cpus != "0" || *r.Pids.Limit != -1 {
		t.Errorf("applied: %+v %+v %+v", *r.Memory, *r.CPU, *r.Pids)
	}
	for _, bad := range [][]string{{"--memory"}, {"--memory", "lots"}, {"--cpu-shares", "-1"}, {"--cpu-quota", "x"},
		{"--pids-limit", "1e9"}, {"--privileged", "true"}, {"--memory", "-5m"}} {
		if err := applyUpdate(&specs.LinuxResources{}, bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func FuzzApplyUpdate(f *testing.F) {
	f.Add("--memory", "64m")
	f.Add("--cpu-quota", "-1")
	f.Add("--pids-limit", "99999999999999999999")
	f.Fuzz(func(t *testing.T, flag, v string) {
		_ = applyUpdate(&specs.LinuxResources{}, []string{flag, v})
	})
}

// TestUpdateOutlivesRestart: limits changed by update are those of the
// container started again, as Docker's.
func TestUpdateOutlivesRestart(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	c, err := e.Create(ctx, CreateOptions{Image: "busybox", Spec: ocispec.Options{Cmd: []string{"sleep", "100"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Start(ctx, c.ID, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.Update(ctx, c.ID, []string{"--pids-limit", "42"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Stop(ctx, c.ID, new(int)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Start(ctx, c.ID, nil); err != nil {
		t.Fatal(err)
	}
	var spec specs.Spec
	b, err := os.ReadFile(filepath.Join(e.dir(c.ID), "config.json"))
	if err == nil {
		err = json.Unmarshal(b, &spec)
	}
	if err != nil || spec.Linux.Resources.Pids == nil || *spec.Linux.Resources.Pids.Limit != 42 {
		t.Fatalf("config.json after update: %v %+v", err, spec.Linux.Resources.Pids)
	}
	// cgroup v2, or v1's pids hierarchy.
	got, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/berth", c.ID, "pids.max"))
	if err != nil {
		got, err = os.ReadFile(filepath.Join("/sys/fs/cgroup/pids/berth", c.ID, "pids.max"))
	}
	if err != nil {
		t.Skipf("no pids.max here: %v", err)
	}
	if strings.TrimSpace(string(got)) != "42" {
		t.Errorf("pids.max after the restart: %q", got)
	}
}
