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
	"os/signal"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"berth/image"
)

// version is berth's version, printed by --version.
const version = "0.1.0"

// globals are the flags every command shares.
type globals struct {
	root        string
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, unix.SIGTERM)
	err := newRootCommand(&globals{}).ExecuteContext(ctx)
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

func newRootCommand(g *globals) *cobra.Command {
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
	f.StringVar(&g.snapshotter, "snapshotter", os.Getenv("BERTH_SNAPSHOTTER"), `layer storage: "overlay", "native" (copies), or empty to choose`)
	f.StringVar(&g.runtime, "runtime", os.Getenv("BERTH_RUNTIME"), "OCI runtime binary (default: berth-runtime beside berth)")
	f.BoolVarP(&g.debug, "debug", "D", false, "log debug messages")

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
	containerCmd := &cobra.Command{Use: "container", Short: "manage containers"}
	containerCmd.AddCommand(
		newCreateCommand(g), newRunCommand(g), newStartCommand(g), newStopCommand(g), newRestartCommand(g),
		newKillCommand(g), newRmCommand(g, "rm"), newPsCommand(g, "ls"), newLogsCommand(g), newWaitCommand(g),
		newExecCommand(g), newInspectCommand(g), newPauseCommand(g, true), newPauseCommand(g, false),
		newRenameCommand(g), newTopCommand(g), newContainerPruneCommand(g), newCommitCommand(g),
		newDiffCommand(g), newExportCommand(g), newCpCommand(g), newAttachCommand(g), newUpdateCommand(g),
		newStatsCommand(g), newPortCommand(g), newContainerCleanupCommand(g),
	)
	systemCmd := &cobra.Command{Use: "system", Short: "manage berth's state"}
	systemCmd.AddCommand(newSystemDfCommand(g), newSystemPruneCommand(g), newSystemCheckCommand(g), newEventsCommand(g))
	root.AddCommand(
		imageCmd, systemCmd, containerCmd, newVolumeCommand(g), newNetworkCommand(g),
		newCreateCommand(g), newRunCommand(g), newStartCommand(g), newStopCommand(g), newRestartCommand(g),
		newKillCommand(g), newRmCommand(g, "rm"), newPsCommand(g, "ps"), newLogsCommand(g), newWaitCommand(g),
		newExecCommand(g), newInspectCommand(g), newPauseCommand(g, true), newPauseCommand(g, false),
		newRenameCommand(g), newTopCommand(g), newCommitCommand(g), newDiffCommand(g), newExportCommand(g),
		newCpCommand(g), newAttachCommand(g), newUpdateCommand(g), newStatsCommand(g), newPortCommand(g),
		newVersionCommand(g), newInfoCommand(g), newEventsCommand(g), newDNSServeCommand(g),
		newImagesCommand(g, "images"),
		newRmiCommand(g, "rmi"),
		newTagCommand(g),
		newHistoryCommand(g),
		newSaveCommand(g),
		newLoadCommand(g),
		newImportCommand(g),
		newPullCommand(g), newPushCommand(g), newManifestCommand(g),
		newRegistryCommand(g), newLoginCommand(g), newLogoutCommand(g),
		newBuildCommand(g), newBuildCleanupCommand(g),
	)
	return root
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
