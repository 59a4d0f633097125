package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"berth/runtime/container"
)

// createFlags are shared by create and run.
type createFlags struct {
	bundle, pidFile, consoleSocket string
	noPivot, noNewKeyring          bool
	preserveFDs                    int
	waitFD                         int
}

func (c *createFlags) register(f *pflag.FlagSet) {
	f.StringVarP(&c.bundle, "bundle", "b", ".", "path to the bundle directory")
	f.StringVar(&c.pidFile, "pid-file", "", "write the container's init pid to this file")
	f.StringVar(&c.consoleSocket, "console-socket", "", "unix socket to send the terminal's master to")
	f.BoolVar(&c.noPivot, "no-pivot", false, "move the rootfs and chroot instead of pivot_root")
	f.BoolVar(&c.noNewKeyring, "no-new-keyring", false, "keep the caller's session keyring")
	f.IntVar(&c.preserveFDs, "preserve-fds", 0, "pass this many extra descriptors (from 3) to the process")
	f.IntVar(&c.waitFD, "wait-fd", -1, "before reading the bundle, wait for the byte 'G' on this descriptor (berth's monitor starts the runtime while the bundle is written)")
}

func (c *createFlags) options(g *globals, id string) (container.CreateOptions, error) {
	o := container.CreateOptions{
		Root: g.root, ID: id, Bundle: c.bundle, PidFile: c.pidFile,
		ConsoleSocket: c.consoleSocket, NoPivot: c.noPivot,
		NoNewKeyring: c.noNewKeyring, PreserveFDs: c.preserveFDs,
	}
	if c.waitFD >= 0 {
		f, err := goAheadFile(c.waitFD, c.preserveFDs)
		if err != nil {
			return o, err
		}
		o.GoAhead = f
	}
	return o, nil
}

// goAheadFile takes descriptor fd for --wait-fd: one of the caller's
// beyond the standard three and the preserved ones, kept from the
// container's process.
func goAheadFile(fd, preserved int) (*os.File, error) {
	if fd < 3 || fd < 3+preserved {
		return nil, fmt.Errorf("--wait-fd %d: must be 3 or more, and past the --preserve-fds descriptors", fd)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
		return nil, fmt.Errorf("--wait-fd %d: %w", fd, err)
	}
	unix.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), "go-ahead"), nil
}

func newCreateCommand(g *globals) *cobra.Command {
	var c createFlags
	cmd := &cobra.Command{
		Use:   "create [flags] <container-id>",
		Short: "create a container; its process waits for start",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := c.options(g, args[0])
			if err != nil {
				return err
			}
			_, err = container.Create(o)
			return err
		},
	}
	c.register(cmd.Flags())
	return cmd
}
