package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"berth/engine"
	"berth/image"
)

func newExecCommand(g *globals) *cobra.Command {
	var o engine.ExecOptions
	cmd := &cobra.Command{
		Use:   "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
		Short: "run a command in a running container",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.openEngine(cmd.Context())
			if err != nil {
				return err
			}
			defer e.Close()
			if !o.Detach {
				// A missing container is the error to show first, as Docker's.
				if _, err := e.Lookup(cmd.Context(), args[0]); err != nil {
					return err
				}
				if err := checkTTY(o.Interactive, o.TTY); err != nil {
					return err
				}
			}
			o.Args = args[1:]
			// TERM and the user signals go to the process through the
			// runtime; INT, QUIT and HUP come from the terminal, which
			// sends them to the runtime (in this process group) itself.
			sigs := make(chan os.Signal, 8)
			signal.Notify(sigs, unix.SIGTERM, unix.SIGUSR1, unix.SIGUSR2)
			defer signal.Stop(sigs)
			o.Signals = sigs
			code, err := e.Exec(context.WithoutCancel(cmd.Context()), args[0], o)
			if err != nil {
				return err
			}
			if code != 0 {
				return statusError{code, silentExit{}}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.TTY, "tty", "t", false, "allocate a terminal")
	f.BoolVarP(&o.Interactive, "interactive", "i", false, "keep stdin open")
	f.BoolVarP(&o.Detach, "detach", "d", false, "run in the background")
	f.StringArrayVarP(&o.Env, "env", "e", nil, "set an environment variable")
	f.StringVarP(&o.Workdir, "workdir", "w", "", "working directory")
	f.StringVarP(&o.User, "user", "u", "", "user (uid[:gid])")
	f.SetInterspersed(false)
	return cmd
}

func newInspectCommand(g *globals) *cobra.Command {
	var format, typ string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NAME|ID [NAME|ID...]",
		Short: "show containers or images in detail, as JSON",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			e, err := g.openEngine(ctx)
			if err != nil {
				return err
			}
			defer e.Close()
			var out []any
			allImages, err := e.Images().List(ctx)
			if err != nil {
				return err
			}
			for _, arg := range args {
				if typ != "image" {
					if c, err := e.Lookup(ctx, arg); err == nil {
						out = append(out, inspectContainer(e, c))
						continue
					} else if typ == "container" {
						return err
					}
				}
				imgs, err := e.Images().Resolve(ctx, arg)
				if err != nil {
					if errors.Is(err, image.ErrNotFound) {
						return statusError{1, fmt.Errorf("no such object: %s", arg)}
					}
					return err
				}
				v, err := inspectImage(cmd, e.Images(), imgs[0], allImages)
				if err != nil {
					return err
				}
				out = append(out, v)
			}
			return printInspect(format, out)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "a Go template applied to each object")
	cmd.Flags().StringVar(&typ, "type", "", "container or image")
	return cmd
}

// containerInspect is Docker's container inspect object, with the fields
// berth has.
type containerInspect struct {
	*engine.Container
	// Name has the leading "/" Docker's inspect shows (ps does not).
	Name         string     `json:"Name"`
	LogPath      string     `json:"LogPath"`
	ResolvConf   string     `json:"ResolvConfPath"`
	HostnamePath string     `json:"HostnamePath"`
	HostConfig   hostConfig `json:"HostConfig"`
	// NetworkSettings holds the networking fields (netcmds.go).
	NetworkSettings networkSettings `json:"NetworkSettings"`
	Config          struct {
		Image  string            `json:"Image"`
		Tty    bool              `json:"Tty"`
		Labels map[string]string `json:"Labels"`
	} `json:"Config"`
}

func inspectContainer(e *engine.Engine, c *engine.Container) containerInspect {
	v := containerInspect{Container: c, Name: "/" + c.Name, LogPath: e.LogPath(c.ID)}
	v.Config.Image, v.Config.Tty, v.Config.Labels = c.Image, c.TTY, c.Labels
	v.HostConfig.netHostConfig, v.NetworkSettings = inspectNetwork(e, c)
	v.HostConfig.Runtime = c.Runtime
	return v
}

// hostConfig is inspect's HostConfig, with the fields berth has.
type hostConfig struct {
	netHostConfig
	// Runtime is the OCI runtime's path (Docker shows a runtime's name).
	Runtime string `json:"Runtime"`
}

func newPauseCommand(g *globals, pause bool) *cobra.Command {
	use, short := "pause", "freeze every process of containers"
	if !pause {
		use, short = "unpause", "thaw paused containers"
	}
	return &cobra.Command{
		Use:   use + " CONTAINER [CONTAINER...]",
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.eachContainer(cmd, args, func(e *engine.Engine, ref string) error {
				if err := e.Pause(cmd.Context(), ref, pause); err != nil {
					return err
				}
				fmt.Println(ref)
				return nil
			})
		},
	}
}

func newRenameCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rename CONTAINER NEW_NAME",
		Short: "rename a container",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.openEngine(cmd.Context())
			if err != nil {
				return err
			}
			defer e.Close()
			return renameWithEvent(cmd.Context(), e, args[0], args[1])
		},
	}
}

func newTopCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "top CONTAINER [ps OPTIONS]",
		Short: "show a container's processes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.openEngine(cmd.Context())
			if err != nil {
				return err
			}
			defer e.Close()
			out, err := e.Top(cmd.Context(), args[0], args[1:])
			if err != nil {
				return err
			}
			fmt.Print(out)
			return nil
		},
	}
}

func newCommitCommand(g *globals) *cobra.Command {
	var o image.CommitOptions
	cmd := &cobra.Command{
		Use:   "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
		Short: "make an image from a container's changes",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			e, err := g.openEngine(ctx)
			if err != nil {
				return err
			}
			defer e.Close()
			c, err := e.Lookup(ctx, args[0])
			if err != nil {
				return err
			}
			if len(args) == 2 {
				o.Ref = args[1]
			}
			o.CreatedBy = strings.Join(append([]string{c.Path}, c.Args...), " ")
			// The store whose snapshotter holds the container's rootfs.
			images, release, err := e.ImagesFor(ctx, c)
			if err != nil {
				return err
			}
			defer release()
			img, id, err := images.Commit(ctx, c.ID, o)
			if err != nil {
				return err
			}
			commitEvents(ctx, e, c, img, id.String(), o.Message)
			fmt.Println(id)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Author, "author", "a", "", "author")
	f.StringVarP(&o.Message, "message", "m", "", "commit message")
	f.StringArrayVarP(&o.Changes, "change", "c", nil, "apply a Dockerfile instruction")
	f.BoolP("pause", "p", true, "pause the container during the commit (berth commits the upper directory as it is)")
	return cmd
}

func newDiffCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "diff CONTAINER",
		Short: "show the files a container changed (A added, C changed, D deleted)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			e, err := g.openEngine(ctx)
			if err != nil {
				return err
			}
			defer e.Close()
			c, err := e.Lookup(ctx, args[0])
			if err != nil {
				return err
			}
			images, release, err := e.ImagesFor(ctx, c)
			if err != nil {
				return err
			}
			defer release()
			changes, err := images.Diff(ctx, c.ID)
			if err != nil {
				return err
			}
			for _, ch := range changes {
				fmt.Println(ch.String())
			}
			return nil
		},
	}
}

func newExportCommand(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "export [OPTIONS] CONTAINER",
		Short: "write a container's filesystem as a tar archive",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			e, err := g.openEngine(ctx)
			if err != nil {
				return err
			}
			defer e.Close()
			c, err := e.Lookup(ctx, args[0])
			if err != nil {
				return err
			}
			w := os.Stdout
			if output != "" {
				f, err := os.Create(output)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			images, release, err := e.ImagesFor(ctx, c)
			if err != nil {
				return err
			}
			defer release()
			return emitAfter(e, c, "export", images.Export(ctx, c.ID, w))
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to a file instead of stdout")
	return cmd
}
