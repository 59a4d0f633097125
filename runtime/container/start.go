package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Start lets a created container's init execute the user's process, by
// opening the exec fifo its init is blocked on.
func Start(root, id string) error {
	st, err := Load(root, id)
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
	path := filepath.Join(st.dir, fifoName)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	// Wait for init's write; a fifo without writers polls as nothing, so
	// check that init is still there between polls.
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 100)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait for container init: %w", err)
		}
		if n > 0 && fds[0].Revents&unix.POLLIN != 0 {
			break
		}
		if !alive(st.Pid, st.PidStart) {
			return fmt.Errorf("container %s: init exited before start", id)
		}
	}
	var b [1]byte
	if _, err := unix.Read(fd, b[:]); err != nil {
		return fmt.Errorf("read exec fifo: %w", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove exec fifo: %w", err)
	}
	return nil
}
