package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"berth/runtime/container"
	"berth/runtime/startfds"
)

// createFlags are shared by create and run.
type createFlags struct {
	bundle, pidFile, consoleSocket string
	noPivot, noNewKeyring          bool
	preserveFDs                    int
	waitFD                         int
	earlyInit                      bool
}

func (c *createFlags) register(f *pflag.FlagSet) {
	f.StringVarP(&c.bundle, "bundle", "b", ".", "path to the bundle directory")
	f.StringVar(&c.pidFile, "pid-file", "", "write the container's init pid to this file")
	f.StringVar(&c.consoleSocket, "console-socket", "", "unix socket to send the terminal's master to")
	f.BoolVar(&c.noPivot, "no-pivot", false, "move the rootfs and chroot instead of pivot_root")
	f.BoolVar(&c.noNewKeyring, "no-new-keyring", false, "keep the caller's session keyring")
	f.IntVar(&c.preserveFDs, "preserve-fds", 0, "pass this many extra descriptors (from 3) to the process")
	f.IntVar(&c.waitFD, "wait-fd", -1, "before reading the bundle, wait for the byte 'G' on this descriptor (berth's monitor starts the runtime while the bundle is written)")
	f.BoolVar(&c.earlyInit, "early-init", false, "start the container's init, in the default spec's namespaces, as the runtime starts (with --wait-fd, while the bundle is written); it is used if the config asks for those, ended if not")
}

func (c *createFlags) options(g *globals, id string) container.CreateOptions {
	o := container.CreateOptions{
		Root: g.root, ID: id, Bundle: c.bundle, PidFile: c.pidFile,
		ConsoleSocket: c.consoleSocket, NoPivot: c.noPivot,
		NoNewKeyring: c.noNewKeyring, PreserveFDs: c.preserveFDs,
	}
	if c.waitFD >= 0 {
		// checkWaitFD took it before the runtime opened any file.
		o.GoAhead = os.NewFile(uintptr(c.waitFD), "go-ahead")
	}
	o.EarlyInit = c.earlyInit
	return o
}

// checkWaitFD takes the descriptor --wait-fd names, if any: it must be
// the caller's, beyond the standard three and the preserved ones. It runs
// before the runtime opens a file of its own (its --log), and judges the
// descriptor as the process started (runtime/startfds), so that a closed
// number the Go runtime or cgprime has taken since is not mistaken for the
// caller's. The descriptor is kept from the container (close-on-exec).
func checkWaitFD(cmd *cobra.Command) error {
	f := cmd.Flags().Lookup("wait-fd")
	if f == nil || !f.Changed {
		return nil
	}
	fd, err := strconv.Atoi(f.Value.String())
	if err != nil {
		return fmt.Errorf("--wait-fd %s: not a descriptor number", f.Value)
	}
	preserved := 0
	if p := cmd.Flags().Lookup("preserve-fds"); p != nil {
		preserved, _ = strconv.Atoi(p.Value.String())
	}
	return takeWaitFD(fd, preserved)
}

// takeWaitFD checks fd for --wait-fd with preserved --preserve-fds
// descriptors and sets it close-on-exec.
func takeWaitFD(fd, preserved int) error {
	if fd < 3 || fd < 3+preserved {
		return fmt.Errorf("--wait-fd %d: must be 3 or more, and past the --preserve-fds descriptors", fd)
	}
	// As the process started: the Go runtime may hold a descriptor of its
	// own at a number the caller left closed.
	open, known := startfds.WaitFD(fd)
	if !known {
		_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		open = err == nil
	}
	if !open {
		return fmt.Errorf("--wait-fd %d: %w", fd, unix.EBADF)
	}
	unix.CloseOnExec(fd)
	return nil
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
