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
// its own StopTimeout; negative: for ever, as Docker 20.10) and then
// kills it; the restart policy does not bring it back. A container in
// its restart back-off has no process to signal: Stop waits for its
// monitor to see the request and record the exit as final (or go).
func (e *Engine) Stop(ctx context.Context, ref string, timeout *int) (*Container, error) {
	c, unlock, err := e.lookupLocked(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if !c.State.Running && !c.State.Restarting {
		return c, nil
	}
	t := c.StopTimeout
	if timeout != nil {
		t = *timeout
	}
	if err := os.WriteFile(filepath.Join(e.runDir(c), monitor.StopRequested), nil, 0o600); err != nil {
		return c, fmt.Errorf("stop %s: %w", c.Name, err)
	}
	sig := firstNonEmpty(c.StopSignal, "SIGTERM")
	// The monitor may restart the container just before it sees the
	// request: each new process gets the signal, and the kill after t.
	var signalled, killed int // the pids signalled and killed
	var signalledAt, killedAt, waitingSince time.Time
	for {
		st, now := c.State, time.Now()
		switch {
		case !st.Running && !st.Restarting:
			e.stopNetwork(c)
			e.Emit(c, "stop", nil)
			return c, nil
		case st.Running:
			if st.Pid != signalled {
				_ = e.runtimeKill(c, sig)
				signalled, signalledAt = st.Pid, now
			}
			if st.Pid != killed && t >= 0 && now.Sub(signalledAt) >= time.Duration(t)*time.Second {
				_ = e.runtimeKill(c, "SIGKILL")
				killed, killedAt = st.Pid, now
			}
			if st.Pid == killed && now.Sub(killedAt) > 10*time.Second {
				return c, fmt.Errorf("container %s did not stop", c.Name)
			}
		default:
			// In its restart back-off: nothing to signal; its monitor
			// records the exit as final once it sees the request.
			if waitingSince.IsZero() {
				waitingSince = now
			} else if now.Sub(waitingSince) > 10*time.Second {
				return c, fmt.Errorf("container %s did not stop: its monitor did not take the stop request", c.Name)
			}
		}
		select {
		case <-ctx.Done():
			return c, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		e.refresh(c)
	}
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
		_ = os.WriteFile(filepath.Join(e.runDir(c), monitor.StopRequested), nil, 0o600)
	}
	return c, e.runtimeKill(c, signal)
}

func (e *Engine) runtimeKill(c *Container, sig string) error {
	out, err := exec.Command(c.Runtime, "--root", e.runtimeRoot(c), "kill", c.ID, strings.TrimPrefix(sig, "SIG")).CombinedOutput()
	if err != nil {
		return fmt.Errorf("kill %s: %s", c.Name, strings.TrimSpace(string(out)))
	}
	e.Emit(c, "kill", map[string]string{"signal": signalNumber(sig)})
	return nil
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
