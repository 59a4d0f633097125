package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"berth/engine"
	"berth/image"
)

func newCreateCommand(g *globals) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "create a container",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := f.options(args, cmd.Flags().Changed("entrypoint"))
			if err != nil {
				return err
			}
			e, err := g.openEngine(cmd.Context())
			if err != nil {
				return err
			}
			defer e.Close()
			c, err := createPulling(cmd.Context(), g, e, f.pull, args[0], o)
			if err != nil {
				return err
			}
			fmt.Println(c.ID)
			return nil
		},
	}
	f.register(cmd.Flags(), false)
	return cmd
}

func newRunCommand(g *globals) *cobra.Command {
	var f runFlags
	var detachKeys string
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "create and start a container",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			o, err := f.options(args, cmd.Flags().Changed("entrypoint"))
			if err != nil {
				return err
			}
			if !f.detach {
				if err := checkTTY(f.interactive, f.tty); err != nil {
					return err
				}
				// Before the container is made: a typo must not leave one.
				if _, err := parseDetachKeys(detachKeys); err != nil {
					return err
				}
			}
			e, err := g.openEngine(ctx)
			if err != nil {
				return err
			}
			defer e.Close()
			o.StartAfter = true
			c, err := createPulling(ctx, g, e, f.pull, args[0], o)
			if err != nil {
				return err
			}
			if f.detach {
				if _, err := e.Start(ctx, c.ID, nil); err != nil {
					_ = e.Remove(ctx, c.ID, true, true)
					return statusError{exitCodeFor(err), err}
				}
				fmt.Println(c.ID)
				return nil
			}
			code, detached, err := startAttached(cmd, e, c, f.interactive, f.tty, detachKeys)
			if f.rm && !detached {
				// The monitor removes it (also when this command is killed);
				// wait for that, and do it here should the monitor not.
				e.AwaitRemoval(ctx, c, 10*time.Second)
			}
			if err != nil {
				return err
			}
			if code != 0 {
				return statusError{code, silentExit{}}
			}
			return nil
		},
	}
	f.register(cmd.Flags(), true)
	cmd.Flags().StringVar(&detachKeys, "detach-keys", "ctrl-p,ctrl-q", "keys that detach from the container")
	return cmd
}

// silentExit carries a container's exit status: nothing to print.
type silentExit struct{}

func (silentExit) Error() string { return "" }

// startAttached starts c attached to this terminal and returns its exit
// status once it exits, or 0 and detached when the user detaches (the
// container runs on).
func startAttached(cmd *cobra.Command, e *engine.Engine, c *engine.Container, stdin, tty bool, detachKeys string) (code int, detached bool, err error) {
	ctx := cmd.Context()
	keys, err := parseDetachKeys(detachKeys)
	if err != nil {
		return 0, false, err
	}
	s := &session{stdin: stdin, tty: tty, detachKeys: keys}
	// The command's context ends on the first signal (see main); the
	// container's kill must not depend on it.
	s.forward = func(sig unix.Signal) { _ = e.Signal(context.WithoutCancel(ctx), c.ID, sig) }
	_, err = e.Start(ctx, c.ID, func(conn net.Conn) error {
		s.conn = conn
		return nil
	})
	if err != nil {
		if s.conn != nil {
			s.conn.Close()
		}
		return 0, false, statusError{exitCodeFor(err), err}
	}
	if s.conn == nil {
		// It was running already: attach to it, as Docker's start -a does.
		cur, err := e.Lookup(ctx, c.ID)
		if err != nil {
			return 0, false, err
		}
		if s.conn, err = e.Attach(ctx, cur); err != nil {
			return 0, false, err
		}
	}
	r := s.run()
	if r.detached {
		return 0, true, nil
	}
	if r.exited {
		return r.code, false, nil
	}
	// The connection ended without an exit frame: ask the engine.
	code, err = e.Wait(context.WithoutCancel(ctx), c.ID)
	return code, false, err
}

func newStartCommand(g *globals) *cobra.Command {
	var attach, interactive bool
	var detachKeys string
	cmd := &cobra.Command{
		Use:   "start [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "start containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if attach || interactive {
				if len(args) > 1 {
					return errors.New("you cannot start and attach multiple containers at once")
				}
				e, err := g.openEngine(cmd.Context())
				if err != nil {
					return err
				}
				defer e.Close()
				c, err := e.Lookup(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if err := checkTTY(interactive, c.TTY); err != nil {
					return err
				}
				code, _, err := startAttached(cmd, e, c, interactive, c.TTY, detachKeys)
				if err != nil {
					return err
				}
				if code != 0 {
					return statusError{code, silentExit{}}
				}
				return nil
			}
			return g.eachContainer(cmd, args, func(e *engine.Engine, ref string) error {
				if _, err := e.Start(cmd.Context(), ref, nil); err != nil {
					return err
				}
				fmt.Println(ref)
				return nil
			})
		},
	}
	cmd.Flags().BoolVarP(&attach, "attach", "a", false, "attach stdout and stderr")
	cmd.Flags().BoolVarP(&interactive, "interactive", "i", false, "attach stdin")
	cmd.Flags().StringVar(&detachKeys, "detach-keys", "ctrl-p,ctrl-q", "keys that detach from the container")
	return cmd
}

// eachContainer opens the engine and runs fn for every argument; it
// reports each failure and fails at the end if any did, as Docker's
// multi-container commands.
func (g *globals) eachContainer(cmd *cobra.Command, refs []string, fn func(e *engine.Engine, ref string) error) error {
	e, err := g.openEngine(cmd.Context())
	if err != nil {
		return err
	}
	defer e.Close()
	failed := 0
	for _, r := range refs {
		if err := fn(e, r); err != nil {
			fmt.Fprintln(os.Stderr, "Error:", err)
			failed++
		}
	}
	if failed > 0 {
		return statusError{1, silentExit{}}
	}
	return nil
}

func newStopCommand(g *globals) *cobra.Command {
	var timeout int
	cmd := &cobra.Command{
		Use:   "stop [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "stop running containers (the stop signal, then KILL after the timeout)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var t *int
			if cmd.Flags().Changed("time") {
				t = &timeout
			}
			return g.eachContainer(cmd, args, func(e *engine.Engine, ref string) error {
				if _, err := e.Stop(cmd.Context(), ref, t); err != nil {
					return err
				}
				fmt.Println(ref)
				return nil
			})
		},
	}
	cmd.Flags().IntVarP(&timeout, "time", "t", 10, "seconds to wait before killing")
	return cmd
}

func newRestartCommand(g *globals) *cobra.Command {
	var timeout int
	cmd := &cobra.Command{
		Use:   "restart [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "restart containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var t *int
			if cmd.Flags().Changed("time") {
				t = &timeout
			}
			return g.eachContainer(cmd, args, func(e *engine.Engine, ref string) error {
				if _, err := e.Stop(cmd.Context(), ref, t); err != nil {
					return err
				}
				c, err := e.Start(cmd.Context(), ref, nil)
				if err := emitAfter(e, c, "restart", err); err != nil {
					return err
				}
				fmt.Println(ref)
				return nil
			})
		},
	}
	cmd.Flags().IntVarP(&timeout, "time", "t", 10, "seconds to wait before killing")
	return cmd
}

func newKillCommand(g *globals) *cobra.Command {
	var signal string
	cmd := &cobra.Command{
		Use:   "kill [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "send a signal to containers (KILL by default)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.eachContainer(cmd, args, func(e *engine.Engine, ref string) error {
				if _, err := e.Kill(cmd.Context(), ref, signal); err != nil {
					return err
				}
				fmt.Println(ref)
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&signal, "signal", "s", "KILL", "signal to send")
	return cmd
}

func newRmCommand(g *globals, use string) *cobra.Command {
	var force, volumes bool
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "remove containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.eachContainer(cmd, args, func(e *engine.Engine, ref string) error {
				if err := e.Remove(cmd.Context(), ref, force, volumes); err != nil {
					return err
				}
				fmt.Println(ref)
				return nil
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "kill a running container first")
	cmd.Flags().BoolVarP(&volumes, "volumes", "v", false, "remove its anonymous volumes too")
	return cmd
}

func newWaitCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "wait CONTAINER [CONTAINER...]",
		Short: "wait for containers to exit and print their exit codes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.eachContainer(cmd, args, func(e *engine.Engine, ref string) error {
				code, err := e.Wait(cmd.Context(), ref)
				if err != nil {
					return err
				}
				fmt.Println(code)
				return nil
			})
		},
	}
}

// createPulling creates the container, its image pulled first as --pull
// says. With "missing" the create comes first and the pull only if it
// found no such image, as Docker's client does: the image is looked up
// once when it is there.
func createPulling(ctx context.Context, g *globals, e *engine.Engine, policy, arg string, o engine.CreateOptions) (*engine.Container, error) {
	if policy == "missing" {
		c, err := e.Create(ctx, o)
		if !errors.Is(err, image.ErrNotFound) {
			return c, err
		}
	}
	if err := pullForRun(ctx, g, e.Images(), policy, arg); err != nil {
		return nil, err
	}
	return e.Create(ctx, o)
}
