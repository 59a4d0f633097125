package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// ExecOptions are `berth exec`'s.
type ExecOptions struct {
	Args        []string
	Env         []string
	Workdir     string
	User        string // uid[:gid]
	TTY         bool
	Interactive bool
	Detach      bool
}

// Exec runs a process in a running container through the runtime's exec,
// with this process's stdio (the runtime relays the terminal with -t), and
// returns its exit status.
func (e *Engine) Exec(ctx context.Context, ref string, o ExecOptions) (int, error) {
	c, err := e.Lookup(ctx, ref)
	if err != nil {
		return -1, err
	}
	if !c.State.Running {
		return -1, fmt.Errorf("container %s is not running", c.ID)
	}
	if c.State.Paused {
		return -1, fmt.Errorf("container %s is paused, unpause the container before exec", c.ID)
	}
	args := []string{"--root", e.runtimeRoot(), "exec"}
	if o.TTY {
		args = append(args, "-t")
	}
	if o.Detach {
		args = append(args, "-d")
	}
	for _, v := range o.Env {
		args = append(args, "-e", v)
	}
	if o.Workdir != "" {
		args = append(args, "--cwd", o.Workdir)
	}
	if o.User != "" {
		args = append(args, "-u", o.User)
	}
	args = append(args, c.ID)
	args = append(args, o.Args...)
	cmd := exec.CommandContext(ctx, c.Runtime, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if o.Interactive || o.TTY {
		cmd.Stdin = os.Stdin
	}
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return -1, err
	}
	return 0, nil
}
