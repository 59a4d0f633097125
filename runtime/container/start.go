package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/runtime/hooks"
)

// maxStartError bounds the error init reports through the exec fifo.
const maxStartError = 64 << 10

// Start lets a created container's init execute the user's process, by
// opening the exec fifo its init is blocked on, and returns once init has
// run the startContainer hooks and executed the process (the fifo's end),
// then runs the poststart hooks. A failure init reports through the fifo
// (a startContainer hook, execve) is Start's error; the container is then
// stopped.
func Start(root, id string) error {
	st, err := LoadLight(root, id)
	if err != nil {
		return err
	}
	unlock, err := lockDir(st.dir)
	if err != nil {
		return err
	}
	defer unlock()
	if status := st.Status(); status != specs.StateCreated {
		return fmt.Errorf("cannot start container %s in %s state: %w", id, status, ErrNotCreated)
	}
	return st.start()
}

// start is Start for a created container whose lock the caller holds (Run
// holds it since create).
func (st *State) start() error {
	id := st.ID
	path := filepath.Join(st.dir, fifoName)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	// Wait for init's write; a fifo without writers polls as nothing, so
	// check that init is still there between polls.
	if err := pollFifo(fd, st); err != nil {
		return err
	}
	var b [1]byte
	if n, err := unix.Read(fd, b[:]); err != nil {
		return fmt.Errorf("read exec fifo: %w", err)
	} else if n == 0 {
		return fmt.Errorf("container %s: init exited before start", id)
	}
	// Init holds the fifo open until execve; what it writes before that
	// is why it failed.
	msg, err := readToEOF(fd, st)
	if rerr := os.Remove(path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
		err = fmt.Errorf("remove exec fifo: %w", rerr)
	}
	if err != nil {
		return err
	}
	if msg != "" {
		return fmt.Errorf("start container %s: %s", id, msg)
	}
	runPoststart(st)
	return nil
}

// pollFifo waits until the exec fifo has data or its writer is gone, or
// init has exited.
func pollFifo(fd int, st *State) error {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 100)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait for container init: %w", err)
		}
		if n > 0 && fds[0].Revents&(unix.POLLIN|unix.POLLHUP) != 0 {
			return nil
		}
		if !alive(st.Pid, st.PidStart) {
			return fmt.Errorf("container %s: init exited before start", st.ID)
		}
	}
}

// readToEOF reads the exec fifo until init closes it, and returns what
// init wrote (bounded).
func readToEOF(fd int, st *State) (string, error) {
	var msg strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := unix.Read(fd, buf)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			// Init's exit closes the fifo too, so this ends.
			if perr := pollFifo(fd, st); perr != nil {
				return "", perr
			}
			continue
		case err != nil:
			return "", fmt.Errorf("read exec fifo: %w", err)
		case n == 0:
			return strings.TrimSpace(msg.String()), nil
		}
		if room := maxStartError - msg.Len(); room > 0 {
			msg.Write(buf[:min(n, room)])
		}
	}
}

// runPoststart runs the poststart hooks once the process runs; as the
// runtime spec says, a failure is logged as a warning and the container
// goes on.
func runPoststart(st *State) {
	if st.Config == nil {
		return
	}
	list := hooks.List(st.Config.Hooks, hooks.Poststart)
	if len(list) == 0 {
		return
	}
	b, err := json.Marshal(st.OCI())
	if err != nil {
		slog.Warn("poststart hooks not run", "id", st.ID, "error", err)
		return
	}
	for _, err := range hooks.RunEach(context.Background(), hooks.Poststart, list, b) {
		slog.Warn("poststart hook failed", "id", st.ID, "error", err)
	}
}
