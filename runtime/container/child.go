package container

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// child is a process spawn started. It is started with syscall.ForkExec
// rather than os/exec: os.StartProcess first checks, once per process,
// that pidfds work, forking and reaping a throwaway child to do so, a cost
// a short-lived runtime would pay on every container start.
type child struct {
	pid    int
	waited bool
}

// forkExec starts path with args and env in dir; files become its
// descriptors 0, 1, 2 and up. sys, if set, is how (clone flags).
func forkExec(path string, args, env []string, dir string, files []*os.File, sys *syscall.SysProcAttr) (*child, error) {
	fds := make([]uintptr, len(files))
	for i, f := range files {
		fds[i] = f.Fd()
	}
	pid, err := syscall.ForkExec(path, args, &syscall.ProcAttr{Dir: dir, Env: env, Files: fds, Sys: sys})
	// The descriptors must stay open until the child has them.
	runtime.KeepAlive(files)
	if err != nil {
		return nil, err
	}
	return &child{pid: pid}, nil
}

// wait reaps the child; an exit other than status 0 is an error.
func (c *child) wait() error {
	if c.waited {
		return errors.New("process already reaped")
	}
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(c.pid, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait for %d: %w", c.pid, err)
		}
		break
	}
	c.waited = true
	switch {
	case ws.Exited() && ws.ExitStatus() == 0:
		return nil
	case ws.Exited():
		return fmt.Errorf("exit status %d", ws.ExitStatus())
	case ws.Signaled():
		return fmt.Errorf("signal: %v", ws.Signal())
	}
	return fmt.Errorf("wait status %#x", uint32(ws))
}

// kill sends the child SIGKILL, unless it has been reaped: its pid may
// name another process then.
func (c *child) kill() {
	if !c.waited {
		_ = unix.Kill(c.pid, unix.SIGKILL)
	}
}
