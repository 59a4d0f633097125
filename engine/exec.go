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
	// Signals, if set, are passed to the runtime, which relays them to
	// the process (the caller's --sig-proxy): the runtime is not killed
	// when ctx ends, so that it restores the terminal it made raw.
	Signals <-chan os.Signal
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
	args := []string{"--root", e.runtimeRoot(c), "exec"}
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
	cmd := exec.Command(c.Runtime, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	// Without -i the process gets no input, terminal or not (as Docker's).
	if o.Interactive {
		cmd.Stdin = os.Stdin
	}
	died := e.execEvents(c, o.Args, o.Detach)
	err = cmd.Start()
	if err == nil {
		done := make(chan struct{})
		go relaySignals(cmd.Process, o.Signals, done)
		err = cmd.Wait()
		close(done)
	}
	died(err)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return -1, err
	}
	return 0, nil
}

// relaySignals passes sigs to p until done.
func relaySignals(p *os.Process, sigs <-chan os.Signal, done <-chan struct{}) {
	for {
		select {
		case sig := <-sigs:
			_ = p.Signal(sig)
		case <-done:
			return
		}
	}
}
