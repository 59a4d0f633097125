package engine

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"berth/engine/monitor"
)

// Stop sends the container its stop signal, waits up to timeout (nil:
// its own StopTimeout) and then kills it; the restart policy does not
// bring it back.
func (e *Engine) Stop(ctx context.Context, ref string, timeout *int) (*Container, error) {
	c, err := e.Lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	unlock, err := e.lockExisting(c)
	if err != nil {
		return nil, err
	}
	defer unlock()
	e.refresh(c)
	if !c.State.Running && !c.State.Restarting {
		return c, nil
	}
	t := c.StopTimeout
	if timeout != nil {
		t = *timeout
	}
	_ = os.WriteFile(filepath.Join(e.dir(c.ID), monitor.StopRequested), nil, 0o600)
	sig := firstNonEmpty(c.StopSignal, "SIGTERM")
	if c.State.Running {
		_ = e.runtimeKill(c, sig)
		if e.waitExit(ctx, c, time.Duration(t)*time.Second) {
			return c, nil
		}
		_ = e.runtimeKill(c, "SIGKILL")
	}
	if !e.waitExit(ctx, c, 10*time.Second) {
		return c, fmt.Errorf("container %s did not stop", c.Name)
	}
	return c, nil
}

// Kill sends a signal; like stop, it keeps the restart policy from
// bringing the container back.
func (e *Engine) Kill(ctx context.Context, ref, signal string) (*Container, error) {
	c, err := e.Lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	if !c.State.Running {
		return nil, fmt.Errorf("cannot kill container %s: container %s is not running", ref, c.ID)
	}
	if signal == "" {
		signal = "SIGKILL"
	}
	// Only a signal meant to end it keeps the policy from restarting it,
	// as Docker: a SIGHUP to reload a configuration does not.
	norm := func(s string) string { return "SIG" + strings.TrimPrefix(strings.ToUpper(s), "SIG") }
	if sig := norm(signal); sig == "SIGKILL" || sig == "SIG9" || sig == norm(firstNonEmpty(c.StopSignal, "SIGTERM")) {
		_ = os.WriteFile(filepath.Join(e.dir(c.ID), monitor.StopRequested), nil, 0o600)
	}
	return c, e.runtimeKill(c, signal)
}

func (e *Engine) runtimeKill(c *Container, sig string) error {
	out, err := exec.Command(c.Runtime, "--root", e.runtimeRoot(), "kill", c.ID, strings.TrimPrefix(sig, "SIG")).CombinedOutput()
	if err != nil {
		return fmt.Errorf("kill %s: %s", c.Name, strings.TrimSpace(string(out)))
	}
	return nil
}

// waitExit waits until the container has exited (its monitor recorded
// it, or both are gone) or d passes.
func (e *Engine) waitExit(ctx context.Context, c *Container, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		e.refresh(c)
		if !c.State.Running && !c.State.Restarting {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Wait blocks until the container has exited for good and returns its
// exit code. A container removed meanwhile (--rm) gives the code its
// monitor last recorded, when that is still there.
func (e *Engine) Wait(ctx context.Context, ref string) (int, error) {
	c, err := e.Lookup(ctx, ref)
	if err != nil {
		return -1, err
	}
	var exit monitor.Exit
	for {
		if monitor.ReadJSON(e.dir(c.ID), monitor.ExitFile, &exit) == nil && exit.Final {
			return exit.ExitCode, nil
		}
		e.refresh(c)
		if c.State.Status == StatusExited {
			return c.State.ExitCode, nil
		}
		if _, err := os.Stat(e.dir(c.ID)); os.IsNotExist(err) {
			return exit.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Signal passes a signal to a running container's process, as Docker's
// attach and run relay theirs (--sig-proxy); unlike Kill it never touches
// the restart policy.
func (e *Engine) Signal(ctx context.Context, ref string, sig unix.Signal) error {
	c, err := e.Lookup(ctx, ref)
	if err != nil {
		return err
	}
	if !c.State.Running {
		return nil
	}
	return e.runtimeKill(c, strconv.Itoa(int(sig)))
}
