package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"

	"berth/runtime/container"
)

type execFlags struct {
	processPath, consoleSocket, cwd, user, pidFile string
	env, caps                                      []string
	additionalGids                                 []int
	tty, detach, noNewPrivs                        bool
	preserveFDs                                    int
}

func newExecCommand(g *globals) *cobra.Command {
	var e execFlags
	cmd := &cobra.Command{
		Use:   "exec [flags] <container-id> [command [args...]]",
		Short: "run another process in a running container",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := container.Load(g.root, args[0])
			if err != nil {
				return err
			}
			p, err := e.process(st, args[1:], cmd)
			if err != nil {
				return err
			}
			code, err := container.Exec(container.ExecOptions{
				Root: g.root, ID: args[0], Process: p, ConsoleSocket: e.consoleSocket,
				PidFile: e.pidFile, Detach: e.detach, PreserveFDs: e.preserveFDs,
			})
			if err != nil {
				return err
			}
			if code != 0 {
				return exitError{code}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.StringVarP(&e.processPath, "process", "p", "", "path to a process.json describing the process")
	f.BoolVarP(&e.tty, "tty", "t", false, "give the process a terminal")
	f.StringVar(&e.consoleSocket, "console-socket", "", "unix socket to send the terminal's master to")
	f.StringArrayVarP(&e.env, "env", "e", nil, "set an environment variable (NAME=value)")
	f.StringVar(&e.cwd, "cwd", "", "working directory in the container")
	f.StringVarP(&e.user, "user", "u", "", "uid[:gid] to run as")
	f.IntSliceVarP(&e.additionalGids, "additional-gids", "g", nil, "additional gids")
	f.BoolVarP(&e.detach, "detach", "d", false, "return once the process runs")
	f.StringVar(&e.pidFile, "pid-file", "", "write the process's pid to this file")
	f.StringArrayVarP(&e.caps, "cap", "c", nil, "add a capability")
	f.BoolVar(&e.noNewPrivs, "no-new-privs", false, "set no_new_privs for the process")
	f.IntVar(&e.preserveFDs, "preserve-fds", 0, "pass this many extra descriptors (from 3) to the process")
	var label, apparmor string
	f.StringVar(&label, "process-label", "", "SELinux label (ignored: no LSM)")
	f.StringVar(&apparmor, "apparmor", "", "AppArmor profile (ignored: no LSM)")
	return cmd
}

// process builds the exec'd process: from --process, or from the
// container's own process with the command line and flags applied, as runc
// does.
func (e *execFlags) process(st *container.State, args []string, cmd *cobra.Command) (*specs.Process, error) {
	if e.processPath != "" {
		b, err := os.ReadFile(e.processPath)
		if err != nil {
			return nil, fmt.Errorf("--process: %w", err)
		}
		var p specs.Process
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("--process %s: %w", e.processPath, err)
		}
		return &p, nil
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("exec needs a command or --process")
	}
	var p specs.Process
	if st.Config != nil && st.Config.Process != nil {
		b, _ := json.Marshal(st.Config.Process)
		_ = json.Unmarshal(b, &p)
	}
	p.Args = args
	p.Terminal = e.tty
	p.ConsoleSize = nil
	p.Env = append(p.Env, e.env...)
	if e.cwd != "" {
		p.Cwd = e.cwd
	}
	if p.Cwd == "" {
		p.Cwd = "/"
	}
	if e.user != "" {
		uid, gid, err := parseUser(e.user)
		if err != nil {
			return nil, err
		}
		p.User.UID, p.User.GID = uid, gid
	}
	for _, g := range e.additionalGids {
		p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(g))
	}
	if cmd.Flags().Changed("no-new-privs") {
		p.NoNewPrivileges = e.noNewPrivs
	}
	if len(e.caps) > 0 {
		if p.Capabilities == nil {
			p.Capabilities = &specs.LinuxCapabilities{}
		}
		c := p.Capabilities
		for _, name := range e.caps {
			c.Bounding = append(c.Bounding, name)
			c.Effective = append(c.Effective, name)
			c.Permitted = append(c.Permitted, name)
			// Ambient needs inheritable, which --cap does not set.
			if c.Inheritable != nil {
				c.Inheritable = append(c.Inheritable, name)
				c.Ambient = append(c.Ambient, name)
			}
		}
	}
	return &p, nil
}

func parseUser(s string) (uint32, uint32, error) {
	us, gs, hasGid := strings.Cut(s, ":")
	uid, err := strconv.ParseUint(us, 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("--user %q: uid must be a number", s)
	}
	var gid uint64
	if hasGid {
		gid, err = strconv.ParseUint(gs, 10, 32)
		if err != nil {
			return 0, 0, fmt.Errorf("--user %q: gid must be a number", s)
		}
	}
	return uint32(uid), uint32(gid), nil
}
