package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/engine/ocispec"
)

// Update changes the resource limits of a container through the
// runtime's update (runc's flags), and records them in its config.json
// so that a restart keeps them.
func (e *Engine) Update(ctx context.Context, ref string, args []string) error {
	// Under the lock: config.json is read, changed and written back, and
	// a start or stop must not interleave.
	c, unlock, err := e.lookupLocked(ctx, ref)
	if err != nil {
		return err
	}
	defer unlock()
	// Checked before the runtime changes anything.
	if err := applyUpdate(&specs.LinuxResources{}, args); err != nil {
		return err
	}
	if !c.State.Running {
		return fmt.Errorf("container %s is not running", c.Name)
	}
	cmdArgs := append([]string{"--root", e.runtimeRoot(c), "update"}, args...)
	out, err := exec.CommandContext(ctx, c.Runtime, append(cmdArgs, c.ID)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("update %s: %s", c.Name, strings.TrimSpace(string(out)))
	}
	if err := e.recordUpdate(c.ID, args); err != nil {
		return err
	}
	e.Emit(c, "update", nil)
	return nil
}

// applyUpdate records the runtime update flags Update passes (runc's:
// --memory, --memory-swap, --cpu-period, --cpu-quota, --cpu-shares,
// --cpuset-cpus, --pids-limit, each with a value) in r, so that the
// limits outlive a restart, as Docker's update does.
func applyUpdate(r *specs.LinuxResources, args []string) error {
	if len(args)%2 != 0 {
		return fmt.Errorf("update: flag without a value in %q", args)
	}
	mem := func() *specs.LinuxMemory {
		if r.Memory == nil {
			r.Memory = &specs.LinuxMemory{}
		}
		return r.Memory
	}
	cpu := func() *specs.LinuxCPU {
		if r.CPU == nil {
			r.CPU = &specs.LinuxCPU{}
		}
		return r.CPU
	}
	for i := 0; i < len(args); i += 2 {
		flag, v := args[i], args[i+1]
		switch flag {
		case "--memory", "--memory-swap":
			n := int64(-1)
			if v != "-1" {
				var err error
				if n, err = ocispec.ParseSize(v); err != nil {
					return fmt.Errorf("update %s %q: %w", flag, v, err)
				}
			}
			if flag == "--memory" {
				mem().Limit = &n
			} else {
				mem().Swap = &n
			}
		case "--cpu-period", "--cpu-shares":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return fmt.Errorf("update %s %q: %w", flag, v, err)
			}
			if flag == "--cpu-period" {
				cpu().Period = &n
			} else {
				cpu().Shares = &n
			}
		case "--cpu-quota":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("update %s %q: %w", flag, v, err)
			}
			cpu().Quota = &n
		case "--cpuset-cpus":
			cpu().Cpus = v
		case "--pids-limit":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("update %s %q: %w", flag, v, err)
			}
			if n <= 0 {
				n = -1 // unlimited, as Docker
			}
			r.Pids = &specs.LinuxPids{Limit: &n}
		default:
			return fmt.Errorf("update: unknown flag %q", flag)
		}
	}
	return nil
}

// recordUpdate applies the update flags to the container's config.json,
// written beside and renamed into place. The caller holds the
// container's lock.
func (e *Engine) recordUpdate(id string, args []string) error {
	path := filepath.Join(e.dir(id), "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("record the update: %w", err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return fmt.Errorf("record the update: %s: %w", path, err)
	}
	if spec.Linux == nil {
		spec.Linux = &specs.Linux{}
	}
	if spec.Linux.Resources == nil {
		spec.Linux.Resources = &specs.LinuxResources{}
	}
	if err := applyUpdate(spec.Linux.Resources, args); err != nil {
		return err
	}
	if b, err = json.MarshalIndent(&spec, "", "\t"); err != nil {
		return fmt.Errorf("record the update: %w", err)
	}
	tmp := path + ".new"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("record the update: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("record the update: %w", err)
	}
	return nil
}
