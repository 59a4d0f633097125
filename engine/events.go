package engine

import (
	"errors"
	"log/slog"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"berth/engine/events"
)

// Emit records a container event with Docker's attributes: attrs, the
// container's labels over them, and "image" and "name" over both (the
// precedence of Docker's LogContainerEventWithAttributes). A failure to
// write it is logged, never returned: the operation it reports happened.
func (e *Engine) Emit(c *Container, action string, attrs map[string]string) {
	a := make(map[string]string, len(c.Labels)+len(attrs)+2)
	for k, v := range attrs {
		a[k] = v
	}
	for k, v := range c.Labels {
		a[k] = v
	}
	if c.Image != "" {
		a["image"] = c.Image
	}
	a["name"] = strings.TrimPrefix(c.Name, "/")
	e.emit(events.New(events.TypeContainer, action, c.ID, a, time.Now()))
}

// EmitVolume records a volume event (driver "local", as Docker's).
func (e *Engine) EmitVolume(name, action string, attrs map[string]string) {
	a := map[string]string{"driver": "local"}
	for k, v := range attrs {
		a[k] = v
	}
	e.emit(events.New(events.TypeVolume, action, name, a, time.Now()))
}

// EmitPrune records a prune of typ (container, image or volume) with the
// space it reclaimed, as Docker's prune events.
func (e *Engine) EmitPrune(typ string, reclaimed int64) {
	e.emit(events.New(typ, "prune", "", map[string]string{"reclaimed": strconv.FormatInt(reclaimed, 10)}, time.Now()))
}

func (e *Engine) emit(m events.Message) {
	if err := events.Append(e.root, m); err != nil {
		slog.Warn("record an event", "type", m.Type, "action", m.Action, "id", m.Actor.ID, "error", err)
	}
}

// signalNumber is a signal's number as Docker's kill event shows it
// ("9" for KILL, SIGKILL or 9); a name it does not know stays as given.
func signalNumber(sig string) string {
	s := strings.ToUpper(strings.TrimSpace(sig))
	if s == "" {
		return "9"
	}
	if s[0] >= '0' && s[0] <= '9' {
		return s
	}
	if n := unix.SignalNum("SIG" + strings.TrimPrefix(s, "SIG")); n != 0 {
		return strconv.Itoa(int(n))
	}
	return sig
}

// withAttachEvent wraps Start's attach callback so that an "attach"
// event precedes the start, as `docker run` and `start -a` show.
func (e *Engine) withAttachEvent(c *Container, attach func(net.Conn) error) func(net.Conn) error {
	if attach == nil {
		return nil
	}
	return func(conn net.Conn) error {
		e.Emit(c, "attach", nil)
		return attach(conn)
	}
}

// emitStart records a start: Docker's volume "mount" events for the
// container's volumes, then the container's "start".
func (e *Engine) emitStart(c *Container) {
	vols := e.volumesDir() + string(filepath.Separator)
	for _, m := range c.Mounts {
		name, _, ok := strings.Cut(strings.TrimPrefix(m.Source, vols), string(filepath.Separator))
		if !strings.HasPrefix(m.Source, vols) || !ok || name == "" {
			continue
		}
		e.EmitVolume(name, "mount", map[string]string{"container": c.ID, "destination": m.Destination,
			"propagation": "", "read/write": strconv.FormatBool(m.RW)})
	}
	e.Emit(c, "start", nil)
}

// pauseAction is the event of Pause.
func pauseAction(pause bool) string {
	if pause {
		return "pause"
	}
	return "unpause"
}

// execEvents records Docker's exec_create and exec_start for an exec of
// args (actions "exec_create: sh -c ls", attribute execID) and returns
// what records its exec_die with the exit code, once the process ended
// (not for a detached exec, whose end berth does not see).
func (e *Engine) execEvents(c *Container, args []string, detach bool) func(runErr error) {
	id, err := newID()
	if err != nil {
		id = ""
	}
	cmd := ""
	if len(args) > 0 {
		cmd = args[0] + " " + strings.Join(args[1:], " ")
	}
	attrs := func() map[string]string { return map[string]string{"execID": id} }
	e.Emit(c, "exec_create: "+cmd, attrs())
	e.Emit(c, "exec_start: "+cmd, attrs())
	return func(runErr error) {
		code := 0
		var ee *exec.ExitError
		switch {
		case detach:
			return
		case errors.As(runErr, &ee):
			code = ee.ExitCode()
		case runErr != nil:
			return
		}
		a := attrs()
		a["exitCode"] = strconv.Itoa(code)
		e.Emit(c, "exec_die", a)
	}
}
