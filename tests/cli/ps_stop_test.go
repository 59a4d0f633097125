package cli_test

import (
	"strings"
	"testing"
	"time"
)

// TestPsFilterThenLast: ps filters first, then keeps the last n (-n, -l),
// as Docker.
func TestPsFilterThenLast(t *testing.T) {
	e := newEnv(t).withBusybox()
	e.must("create", "--name", "old", "--label", "x=1", "busybox", "true")
	e.must("create", "--name", "new", "busybox", "true")
	if got := strings.TrimSpace(e.must("ps", "-n", "1", "--filter", "label=x", "--format", "{{.Names}}")); got != "old" {
		t.Errorf("ps -n 1 --filter label=x: %q, want old", got)
	}
	if got := strings.TrimSpace(e.must("ps", "-l", "--filter", "name=old", "--format", "{{.Names}}")); got != "old" {
		t.Errorf("ps -l --filter name=old: %q, want old", got)
	}
	// inspect's Name has Docker's leading "/", ps's does not.
	if got := strings.TrimSpace(e.must("inspect", "-f", "{{.Name}}", "old")); got != "/old" {
		t.Errorf("inspect Name %q, want /old", got)
	}
	if got := strings.TrimSpace(e.must("ps", "-a", "-f", "name=old", "--format", "{{.Names}}")); got != "old" {
		t.Errorf("ps Names %q", got)
	}
}

// TestStopTimeouts: stop -t -1 waits for the process however long it
// takes (no KILL); stop of a container in its restart back-off returns
// at once.
func TestStopTimeouts(t *testing.T) {
	e := newEnv(t).withBusybox()
	e.must("run", "-d", "--name", "slow", "busybox", "sh", "-c", `trap "sleep 1; exit 0" TERM; echo trapped; while :; do sleep 0.1; done`)
	waitFor(t, func() bool { return strings.Contains(e.must("logs", "slow"), "trapped") }, "the TERM trap set")
	e.must("stop", "-t", "-1", "slow")
	if got := strings.TrimSpace(e.must("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "slow")); got != "exited 0" {
		t.Errorf("after stop -t -1: %q, want exited 0 (the TERM handler's exit, not a KILL)", got)
	}
	e.must("restart", "-t", "0", "slow")
	if got := strings.TrimSpace(e.must("inspect", "-f", "{{.State.Status}}", "slow")); got != "running" {
		t.Errorf("after restart -t 0: %q", got)
	}

	e.must("run", "-d", "--name", "crashy", "--restart", "always", "busybox", "sh", "-c", "exit 1")
	waitFor(t, func() bool {
		return strings.TrimSpace(e.must("inspect", "-f", "{{.State.Status}}", "crashy")) == "restarting"
	}, "the container in its restart back-off")
	// "At once" is well under the 10 s stop timeout it would otherwise
	// wait: the v2 guest's software emulation took 3.5 s once.
	start := time.Now()
	e.must("stop", "crashy")
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("stop of a restarting container took %v", d)
	}
	if got := strings.TrimSpace(e.must("inspect", "-f", "{{.State.Status}}", "crashy")); got != "exited" {
		t.Errorf("after stop: %q", got)
	}
}
