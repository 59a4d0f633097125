// Command berth-runtime is berth's OCI runtime, with runc's command line:
// containerd, Docker or Podman can use it as their runtime binary.
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	// Starts the kernel's cgroup-move grace period as the process starts.
	_ "berth/runtime/cgprime"
	"berth/runtime/initproc"
	"berth/runtime/startfds"
)

func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		// The container's init sets credentials and capabilities on the
		// thread that will execve; keep main on it.
		runtime.GOMAXPROCS(1)
		runtime.LockOSThread()
	}
}

// globals are the flags every command shares.
type globals struct {
	root      string
	logPath   string
	logFormat string
	debug     bool
	log       *slog.Logger
}

// exitError carries an exit code (the container's) out of a command.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		initproc.Main()
	}
	g := &globals{}
	root := newRootCommand(g)
	err := root.Execute()
	var ee exitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		os.Exit(ee.code)
	default:
		if g.log != nil {
			g.log.Error(err.Error())
		}
		fmt.Fprintln(os.Stderr, "berth-runtime:", err)
		os.Exit(1)
	}
}

func newRootCommand(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "berth-runtime",
		Short:         "berth's OCI container runtime (runc-compatible command line)",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
		// No shell completion command (runc has none): cobra would build
		// its help texts at every start, 0.3 ms of each (hyperfine).
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			// Before the runtime opens any file of its own (the log first).
			if err := checkPreserveFDs(cmd); err != nil {
				return err
			}
			if err := checkWaitFD(cmd); err != nil {
				return err
			}
			return g.setupLog()
		},
	}
	f := root.PersistentFlags()
	f.StringVar(&g.root, "root", "/run/berth-runtime", "directory for the state of containers")
	f.StringVar(&g.logPath, "log", "", "write log messages to this file (default stderr)")
	f.StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	f.BoolVar(&g.debug, "debug", false, "log debug messages")
	// Flags other engines pass that change nothing here.
	var systemdCgroup bool
	var rootless string
	f.BoolVar(&systemdCgroup, "systemd-cgroup", false, "not supported: cgroups are managed directly")
	f.StringVar(&rootless, "rootless", "auto", "ignored: rootless mode follows the configuration")
	_ = f.MarkHidden("rootless")
	root.AddCommand(
		newSpecCommand(g), newCreateCommand(g), newStartCommand(g), newRunCommand(g),
		newStateCommand(g), newKillCommand(g), newDeleteCommand(g), newListCommand(g),
		newPsCommand(g), newExecCommand(g), newPauseCommand(g), newResumeCommand(g),
		newUpdateCommand(g), newEventsCommand(g),
	)
	return root
}

// checkPreserveFDs makes sure the descriptors --preserve-fds hands to the
// container are ones the caller opened. It runs before the runtime opens a
// file, so a count larger than what the caller passed is refused, instead
// of failing obscurely or passing the runtime's own descriptors (its log,
// its state directory) into the container. (cgprime's thread, which opens
// files as the process starts, stays out of command lines with
// --preserve-fds for this reason.)
func checkPreserveFDs(cmd *cobra.Command) error {
	f := cmd.Flags().Lookup("preserve-fds")
	if f == nil || !f.Changed {
		return nil
	}
	n, err := strconv.Atoi(f.Value.String())
	if err != nil || n < 0 {
		return fmt.Errorf("--preserve-fds %s: must be a count of descriptors (0 or more)", f.Value)
	}
	// As the process started: the Go runtime may hold a descriptor of its
	// own at a number the caller left closed.
	if fd, known := startfds.FirstClosedPreserved(n); known {
		if fd > 0 {
			return fmt.Errorf("--preserve-fds %d: descriptor %d is not open", n, fd)
		}
		return nil
	}
	for fd := 3; fd < 3+n; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			return fmt.Errorf("--preserve-fds %d: descriptor %d is not open", n, fd)
		}
	}
	return nil
}

const version = "0.1.0\nspec: 1.2.0"

func (g *globals) setupLog() error {
	var w io.Writer = os.Stderr
	if g.logPath != "" {
		f, err := os.OpenFile(g.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC, 0o644)
		if err != nil {
			return fmt.Errorf("--log %s: %w", g.logPath, err)
		}
		w = f
	}
	level := slog.LevelWarn
	if g.debug {
		level = slog.LevelDebug
	}
	// containerd reads runc's log with lower-case levels.
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == slog.LevelKey && len(groups) == 0 {
			a.Value = slog.StringValue(strings.ToLower(a.Value.String()))
		}
		return a
	}}
	switch g.logFormat {
	case "text":
		g.log = slog.New(slog.NewTextHandler(w, opts))
	case "json":
		g.log = slog.New(slog.NewJSONHandler(w, opts))
	default:
		return fmt.Errorf("--log-format: unknown format %q (text or json)", g.logFormat)
	}
	// Library code (hook warnings, seccomp debug) logs through the default.
	slog.SetDefault(g.log)
	if g.logPath == "" {
		// Errors already go to stderr once; don't log them twice there.
		g.log = nil
	}
	return nil
}
