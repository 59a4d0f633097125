package runtime_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestClosedStdin: a runtime started with descriptor 0 closed gives the
// container /dev/null as its stdin (the Go runtime opens it on a closed
// standard descriptor as the process starts), however the runtime's own
// start-up opens files meanwhile; none of the runtime's files become the
// container's stdin, and the runtime does not abort.
func TestClosedStdin(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 20; i++ {
		b := newBundle(t, "sh", "-c", "readlink /proc/self/fd/0 || echo closed")
		dir := b.save(t)
		id := e.id()
		cmd := e.command("run", "--bundle", dir, id)
		// The shell closes descriptor 0, then becomes the runtime.
		args := append([]string{"-c", `exec "$0" "$@" <&-`}, cmd.Args...)
		cmd = exec.Command("/bin/sh", args...)
		var out, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("try %d: run with stdin closed: %v: %s%s", i, err, stderr.String(), out.String())
		}
		if got := strings.TrimSpace(out.String()); got != "/dev/null" {
			t.Fatalf("try %d: the container's stdin is %q, want /dev/null", i, got)
		}
		e.assertNothingLeft(id, dir)
	}
}
