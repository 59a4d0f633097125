// Command berth is the Docker-compatible command line of berth. It works
// without a daemon: each command opens the state under --root itself,
// guarded by file locks, so several commands may run at once.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"berth/engine"
	"berth/image"
)

// version is berth's version, printed by --version.
const version = "0.1.0"

// globals are the flags every command shares.
type globals struct {
	root        string
	runRoot     string
	snapshotter string
	runtime     string
	debug       bool
}

// statusError carries an exit status out of a command (Docker's: 125 for
// an error of berth itself, 1 for a usage error of some commands).
type statusError struct {
	code int
	err  error
}

func (e statusError) Error() string { return e.err.Error() }
func (e statusError) Unwrap() error { return e.err }

func main() {
	ctx, stop := newInterruptContext(context.Background(), os.Interrupt, unix.SIGTERM)
	err := newRootCommand(&globals{}, os.Args[1:]).ExecuteContext(ctx)
	stop()
	if err == nil {
		return
	}
	if !errors.As(err, new(silentExit)) {
		fmt.Fprintln(os.Stderr, "Error:", err)
	}
	var se statusError
	if errors.As(err, &se) {
		os.Exit(se.code)
	}
	os.Exit(125)
}

// newRootCommand builds the command tree. A berth process runs one
// command: when args name a top-level one, only that one is built (every
// start pays for the flags it builds, and `run` and `create` have
// dozens); help, completion and unknown names get the whole tree.
func newRootCommand(g *globals, args []string) *cobra.Command {
	root := &cobra.Command{
		Use:           "berth",
		Short:         "berth: build, ship and run containers (Docker-compatible)",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			level := slog.LevelWarn
			if g.debug {
				level = slog.LevelDebug
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
		},
	}
	f := root.PersistentFlags()
	f.StringVar(&g.root, "root", envOr("BERTH_ROOT", "/var/lib/berth"), "directory of berth's state (images, containers)")
	f.StringVar(&g.runRoot, "runroot", envOr("BERTH_RUNROOT", engine.DefaultRunRoot), "directory of berth's volatile state (the runtime's, of running containers)")
	f.StringVar(&g.snapshotter, "snapshotter", os.Getenv("BERTH_SNAPSHOTTER"), `layer storage: "overlay", "native" (copies), or empty to choose`)
	f.StringVar(&g.runtime, "runtime", os.Getenv("BERTH_RUNTIME"), "OCI runtime binary (default: berth-runtime beside berth)")
	f.BoolVarP(&g.debug, "debug", "D", false, "log debug messages")

	cmds := topCommands()
	if name := commandName(f, args); name != "" {
		for _, c := range cmds {
			if c.name == name {
				root.AddCommand(c.make(g))
				return root
			}
		}
	}
	for _, c := range cmds {
		root.AddCommand(c.make(g))
	}
	return root
}

// topCommand is a top-level command: its name and its constructor.
type topCommand struct {
	name string
	make func(g *globals) *cobra.Command
}

// topCommands lists berth's top-level commands.
func topCommands() []topCommand {
	return []topCommand{
		{"image", newImageGroup}, {"system", newSystemGroup}, {"container", newContainerGroup},
		{"volume", newVolumeCommand}, {"network", newNetworkCommand},
		{"create", newCreateCommand}, {"run", newRunCommand}, {"start", newStartCommand},
		{"stop", newStopCommand}, {"restart", newRestartCommand}, {"kill", newKillCommand},
		{"rm", func(g *globals) *cobra.Command { return newRmCommand(g, "rm") }},
		{"ps", func(g *globals) *cobra.Command { return newPsCommand(g, "ps") }},
		{"logs", newLogsCommand}, {"wait", newWaitCommand}, {"exec", newExecCommand},
		{"inspect", newInspectCommand},
		{"pause", func(g *globals) *cobra.Command { return newPauseCommand(g, true) }},
		{"unpause", func(g *globals) *cobra.Command { return newPauseCommand(g, false) }},
		{"rename", newRenameCommand}, {"top", newTopCommand}, {"commit", newCommitCommand},
		{"diff", newDiffCommand}, {"export", newExportCommand}, {"cp", newCpCommand},
		{"attach", newAttachCommand}, {"update", newUpdateCommand}, {"stats", newStatsCommand},
		{"port", newPortCommand}, {"version", newVersionCommand}, {"info", newInfoCommand},
		{"events", newEventsCommand}, {"dns-serve", newDNSServeCommand},
		{"images", func(g *globals) *cobra.Command { return newImagesCommand(g, "images") }},
		{"rmi", func(g *globals) *cobra.Command { return newRmiCommand(g, "rmi") }},
		{"tag", newTagCommand}, {"history", newHistoryCommand}, {"save", newSaveCommand},
		{"load", newLoadCommand}, {"import", newImportCommand}, {"pull", newPullCommand},
		{"push", newPushCommand}, {"manifest", newManifestCommand}, {"registry", newRegistryCommand},
		{"login", newLoginCommand}, {"logout", newLogoutCommand}, {"build", newBuildCommand},
		{"build-cleanup", newBuildCleanupCommand}, {pullForRunName, newPullForRunCommand},
	}
}

// pullForRunName is berth-full's hidden command that pulls for a run or
// create of berth (pullForRun); pullForRunUse its usage.
const (
	pullForRunName = "pull-for-run"
	pullForRunUse  = pullForRunName + " --pull POLICY -- IMAGE"
)

// pullNeeded says whether run or create pulls arg under --pull policy:
// "missing" (the default) when it is not here, "always", or "never"; an
// error for another policy.
func pullNeeded(ctx context.Context, s *image.Store, policy, arg string) (bool, error) {
	switch policy {
	case "never":
		return false, nil
	case "missing", "always":
	default:
		return false, statusError{125, fmt.Errorf("invalid pull option %q: must be missing, always or never", policy)}
	}
	if policy == "missing" {
		_, err := s.Resolve(ctx, arg)
		if err == nil || !errors.Is(err, image.ErrNotFound) {
			return false, nil // found, or not a name: the engine says what is wrong
		}
	}
	return true, nil
}

// flags are the global flags as g holds them, for a berth-full child.
func (g *globals) flags() []string {
	a := []string{"--root", g.root, "--runroot", g.runRoot}
	if g.snapshotter != "" {
		a = append(a, "--snapshotter", g.snapshotter)
	}
	if g.runtime != "" {
		a = append(a, "--runtime", g.runtime)
	}
	if g.debug {
		a = append(a, "--debug")
	}
	return a
}

// commandName is the first argument that is not a global flag (one of
// global) or its value: the top-level command args ask for ("" if none).
func commandName(global *pflag.FlagSet, args []string) string {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case takesValue(global, a):
			i++
		case a == "--":
			return ""
		case strings.HasPrefix(a, "-"):
		default:
			return a
		}
	}
	return ""
}

// takesValue tells whether a is a global flag, without "=value", whose
// value is the next argument.
func takesValue(global *pflag.FlagSet, a string) bool {
	var f *pflag.Flag
	if name, ok := strings.CutPrefix(a, "--"); ok {
		f = global.Lookup(name)
	} else if short, ok := strings.CutPrefix(a, "-"); ok && len(short) == 1 {
		f = global.ShorthandLookup(short)
	}
	return f != nil && f.NoOptDefVal == ""
}

func newImageGroup(g *globals) *cobra.Command {
	imageCmd := &cobra.Command{Use: "image", Short: "manage images"}
	imageCmd.AddCommand(
		newImagesCommand(g, "ls"),
		newImageInspectCommand(g),
		newRmiCommand(g, "rm"),
		newTagCommand(g),
		newHistoryCommand(g),
		newImagePruneCommand(g),
		newSaveCommand(g),
		newLoadCommand(g),
		newImportCommand(g),
		newBootstrapCommand(g),
		newPullCommand(g), newPushCommand(g),
		newBuildCommand(g),
	)
	return imageCmd
}

func newContainerGroup(g *globals) *cobra.Command {
	containerCmd := &cobra.Command{Use: "container", Short: "manage containers"}
	containerCmd.AddCommand(
		newCreateCommand(g), newRunCommand(g), newStartCommand(g), newStopCommand(g), newRestartCommand(g),
		newKillCommand(g), newRmCommand(g, "rm"), newPsCommand(g, "ls"), newLogsCommand(g), newWaitCommand(g),
		newExecCommand(g), newInspectCommand(g), newPauseCommand(g, true), newPauseCommand(g, false),
		newRenameCommand(g), newTopCommand(g), newContainerPruneCommand(g), newCommitCommand(g),
		newDiffCommand(g), newExportCommand(g), newCpCommand(g), newAttachCommand(g), newUpdateCommand(g),
		newStatsCommand(g), newPortCommand(g), newContainerCleanupCommand(g),
	)
	return containerCmd
}

func newSystemGroup(g *globals) *cobra.Command {
	systemCmd := &cobra.Command{Use: "system", Short: "manage berth's state"}
	systemCmd.AddCommand(newSystemDfCommand(g), newSystemPruneCommand(g), newSystemCheckCommand(g), newEventsCommand(g))
	return systemCmd
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// openImages opens the image store under --root.
func (g *globals) openImages(ctx context.Context) (*image.Store, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("berth needs root (rootless mode is not implemented yet)")
	}
	return image.Open(ctx, g.root, image.Options{Snapshotter: g.snapshotter})
}
