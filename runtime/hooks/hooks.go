// Package hooks runs the OCI lifecycle hooks of config.json (runtime-spec
// config.md, "POSIX-platform Hooks"): each hook is executed with its own
// argv and environment, nothing inherited, the container's state JSON on
// its standard input, and its timeout enforced by killing it.
package hooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Kind names a lifecycle hook list as config.json does.
type Kind string

// The hook kinds, in the order the lifecycle runs them.
const (
	Prestart        Kind = "prestart"
	CreateRuntime   Kind = "createRuntime"
	CreateContainer Kind = "createContainer"
	StartContainer  Kind = "startContainer"
	Poststart       Kind = "poststart"
	Poststop        Kind = "poststop"
)

// maxOutput bounds how much of a hook's stderr (and stdout) is kept for an
// error message.
const maxOutput = 4096

// waitDelay bounds how long a hook's stray children may hold its output
// pipes open after the hook itself has exited or been killed.
const waitDelay = 2 * time.Second

// List returns the hooks of kind in h, or nil.
func List(h *specs.Hooks, kind Kind) []specs.Hook {
	if h == nil {
		return nil
	}
	switch kind {
	case Prestart:
		return h.Prestart //nolint:staticcheck // deprecated in the spec, still run
	case CreateRuntime:
		return h.CreateRuntime
	case CreateContainer:
		return h.CreateContainer
	case StartContainer:
		return h.StartContainer
	case Poststart:
		return h.Poststart
	case Poststop:
		return h.Poststop
	}
	return nil
}

// kinds are all hook kinds, in lifecycle order.
var kinds = [...]Kind{Prestart, CreateRuntime, CreateContainer, StartContainer, Poststart, Poststop}

// Validate checks what the spec requires of every hook in h: an absolute
// path and, if set, a timeout greater than zero; so a bad hook is refused
// at create rather than when its time comes.
func Validate(h *specs.Hooks) error {
	for _, kind := range kinds {
		for i, hook := range List(h, kind) {
			if err := check(hook); err != nil {
				return fmt.Errorf("hooks.%s[%d]: %w", kind, i, err)
			}
		}
	}
	return nil
}

// check validates one hook.
func check(hook specs.Hook) error {
	if !filepath.IsAbs(hook.Path) {
		return fmt.Errorf("path %q must be absolute", hook.Path)
	}
	if hook.Timeout != nil && *hook.Timeout <= 0 {
		return fmt.Errorf("timeout must be greater than zero, not %d", *hook.Timeout)
	}
	return nil
}

// Error is the failure of one hook.
type Error struct {
	Kind  Kind
	Index int
	Path  string
	// Stderr is the start of what the hook wrote on its standard error.
	Stderr string
	Err    error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("hooks.%s[%d] (%s): %v", e.Kind, e.Index, e.Path, e.Err)
	if e.Stderr != "" {
		msg += ": stderr: " + e.Stderr
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// ErrTimeout is wrapped by the error of a hook killed at its timeout.
var ErrTimeout = errors.New("hook ran past its timeout")

// RunAll runs hooks in order, stopping at the first failure, which it
// returns as an *Error naming kind and the hook's index.
func RunAll(ctx context.Context, kind Kind, hooks []specs.Hook, state []byte) error {
	for i, h := range hooks {
		if err := Run(ctx, h, state); err != nil {
			var he *Error
			if errors.As(err, &he) {
				he.Kind, he.Index = kind, i
				return he
			}
			return &Error{Kind: kind, Index: i, Path: h.Path, Err: err}
		}
	}
	return nil
}

// RunEach runs every hook of the list, whether or not those before it
// failed, and returns the failures, as *Error, in order: for poststart and
// poststop, whose failures the runtime spec has logged as warnings while
// the remaining hooks and the lifecycle go on.
func RunEach(ctx context.Context, kind Kind, hooks []specs.Hook, state []byte) []error {
	var errs []error
	for i, h := range hooks {
		if err := RunAll(ctx, kind, []specs.Hook{h}, state); err != nil {
			var he *Error
			if errors.As(err, &he) {
				he.Index = i
			}
			errs = append(errs, err)
		}
	}
	return errs
}

// Run executes one hook: hook.Path with hook.Args as its argv (args[0] is
// argv[0]; hook.Path when args are empty), exactly hook.Env as its
// environment, and state on its standard input. A hook with a timeout is
// killed, with the processes it left in its process group, when the
// timeout passes or ctx is done. The error of a failed hook is an *Error
// that holds the start of its stderr; RunAll fills in kind and index.
func Run(ctx context.Context, hook specs.Hook, state []byte) error {
	fail := func(err error, stderr string) error {
		return &Error{Path: hook.Path, Stderr: stderr, Err: err}
	}
	if err := check(hook); err != nil {
		return fail(err, "")
	}
	if hook.Timeout != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*hook.Timeout)*time.Second)
		defer cancel()
	}
	args := hook.Args
	if len(args) == 0 {
		args = []string{hook.Path}
	}
	stdout, stderr := &boundedBuffer{max: maxOutput}, &boundedBuffer{max: maxOutput}
	// An absolute path is used as it is, without a PATH search.
	cmd := exec.CommandContext(ctx, hook.Path)
	cmd.Args = args
	// Not nil: a nil Env would hand the hook the runtime's environment.
	cmd.Env = append([]string{}, hook.Env...)
	cmd.Stdin = bytes.NewReader(state)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// Its own process group, so a timeout kills what it started too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if err := unix.Kill(-cmd.Process.Pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("kill hook: %w", err)
		}
		return nil
	}
	cmd.WaitDelay = waitDelay
	err := cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) {
		// The hook succeeded; a child it left behind keeps its output open.
		err = nil
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && hook.Timeout != nil {
			err = fmt.Errorf("%w of %ds, killed", ErrTimeout, *hook.Timeout)
		} else {
			err = fmt.Errorf("killed: %w", ctx.Err())
		}
	}
	return fail(err, stderr.String())
}

// boundedBuffer keeps the first max bytes written to it and drops the rest.
type boundedBuffer struct {
	buf       bytes.Buffer
	max       int
	truncated bool
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		if len(p) > room {
			b.buf.Write(p[:room])
			b.truncated = true
		} else {
			b.buf.Write(p)
		}
	} else if len(p) > 0 {
		b.truncated = true
	}
	return len(p), nil
}

func (b *boundedBuffer) String() string {
	s := string(bytes.TrimSpace(b.buf.Bytes()))
	if b.truncated {
		s += " [truncated]"
	}
	return s
}
