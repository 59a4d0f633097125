package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"berth/runtime/container"
)

// createFlags are shared by create and run.
type createFlags struct {
	bundle, pidFile, consoleSocket string
	noPivot, noNewKeyring          bool
	preserveFDs                    int
}

func (c *createFlags) register(f *pflag.FlagSet) {
	f.StringVarP(&c.bundle, "bundle", "b", ".", "path to the bundle directory")
	f.StringVar(&c.pidFile, "pid-file", "", "write the container's init pid to this file")
	f.StringVar(&c.consoleSocket, "console-socket", "", "unix socket to send the terminal's master to")
	f.BoolVar(&c.noPivot, "no-pivot", false, "move the rootfs and chroot instead of pivot_root")
	f.BoolVar(&c.noNewKeyring, "no-new-keyring", false, "keep the caller's session keyring")
	f.IntVar(&c.preserveFDs, "preserve-fds", 0, "pass this many extra descriptors (from 3) to the process")
}

func (c *createFlags) options(g *globals, id string) container.CreateOptions {
	return container.CreateOptions{
		Root: g.root, ID: id, Bundle: c.bundle, PidFile: c.pidFile,
		ConsoleSocket: c.consoleSocket, NoPivot: c.noPivot,
		NoNewKeyring: c.noNewKeyring, PreserveFDs: c.preserveFDs,
	}
}

func newCreateCommand(g *globals) *cobra.Command {
	var c createFlags
	cmd := &cobra.Command{
		Use:   "create [flags] <container-id>",
		Short: "create a container; its process waits for start",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := container.Create(c.options(g, args[0]))
			return err
		},
	}
	c.register(cmd.Flags())
	return cmd
}
