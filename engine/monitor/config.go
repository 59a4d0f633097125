// Package monitor is the engine's side of the per-container monitor
// (cmd/berth-monitor, a C program: the conmon / containerd-shim role): the
// command line the engine starts it with, the files it writes in the
// container directory, and the frames of its attach socket. The monitor
// creates the container through the OCI runtime's command line, holds its
// stdio, writes its log, serves attach clients, reaps it as a child
// subreaper, records how it ended and restarts it by its policy.
package monitor

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

// Files the monitor reads and writes: LogFile and ExitFile in the
// container directory (they outlive a reboot), the others in its run
// directory (Config.RunDir).
const (
	PidFile     = "monitor.pid"  // the monitor's pid
	RunFile     = "run.json"     // Run: the container's current process
	ExitFile    = "exit.json"    // Exit: how it last ended
	AttachSock  = "attach.sock"  // attach clients (see attach.go)
	ConsoleSock = "console.sock" // the runtime's --console-socket
	InitPidFile = "init.pid"     // the runtime's --pid-file
	LogFile     = "container.log"
	MonitorLog  = "monitor.log" // the monitor's own messages
	// StopRequested is the file the engine creates before it stops or
	// kills a container on the user's behalf: the policy then does not
	// restart it.
	StopRequested = "stop-requested"
)

// Config is what the engine tells the monitor.
type Config struct {
	ID string `json:"id"`
	// Dir is the container directory and OCI bundle.
	Dir string `json:"dir"`
	// RunDir holds the monitor's files but the log and the exit (a
	// tmpfs's directory: they do not outlive a reboot); Dir if empty.
	RunDir string `json:"runDir,omitempty"`
	// Runtime is the OCI runtime binary and RuntimeRoot its --root.
	Runtime     string `json:"runtime"`
	RuntimeRoot string `json:"runtimeRoot"`
	TTY         bool   `json:"tty"`
	// Prestart says the runtime takes berth-runtime's --wait-fd: the
	// monitor starts it as soon as it starts, and it waits there for
	// the go-ahead while the engine makes the rootfs and the bundle.
	Prestart bool `json:"prestart,omitempty"`
	// EarlyInit, with Prestart, has the runtime start the container's
	// init while it waits too (berth-runtime's --early-init): for a
	// container with the runtime's default namespaces.
	EarlyInit bool `json:"earlyInit,omitempty"`
	// WaitRecord says the engine starts the monitor before it records
	// the container: the monitor starts the runtime (Prestart) at once,
	// and makes nothing until the engine's "P NAME\n" on the handshake
	// (Recorded) says the container is recorded as NAME, which replaces
	// Name, and its directories exist. The runtime's and the early
	// init's starts then overlap the engine's whole create.
	WaitRecord  bool  `json:"waitRecord,omitempty"`
	OpenStdin   bool  `json:"openStdin"`
	LogMaxSize  int64 `json:"logMaxSize"`
	LogMaxFiles int   `json:"logMaxFiles"`
	// Restart is no, on-failure, always or unless-stopped; MaxRetries
	// bounds on-failure (0: no bound).
	Restart    string `json:"restart"`
	MaxRetries int    `json:"maxRetries"`
	// ExitCommand runs when the monitor ends for good (--rm: the engine's
	// own removal), with the container's ID appended.
	ExitCommand []string `json:"exitCommand,omitempty"`
	// EventsLog is the engine's events log, where the monitor records
	// the container's die, oom and (policy) start events with Name,
	// Image (as the user named it) and Labels.
	EventsLog string            `json:"eventsLog,omitempty"`
	Name      string            `json:"name,omitempty"`
	Image     string            `json:"image,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
}

// Args is the monitor's command line for c, program name first (the
// engine identifies a live monitor by "berth-monitor" and the ID in it).
func (c Config) Args() []string {
	a := []string{"berth-monitor", "--id", c.ID, "--runtime", c.Runtime, "--runtime-root", c.RuntimeRoot,
		"--log-max-size", strconv.FormatInt(c.LogMaxSize, 10), "--log-max-files", strconv.Itoa(c.LogMaxFiles),
		"--restart", c.Restart, "--max-retries", strconv.Itoa(c.MaxRetries),
		"--events", c.EventsLog, "--name", c.Name, "--image", c.Image}
	if c.TTY {
		a = append(a, "--tty")
	}
	if c.OpenStdin {
		a = append(a, "--open-stdin")
	}
	if c.Prestart {
		a = append(a, "--prestart")
		if c.EarlyInit {
			a = append(a, "--early-init")
		}
	}
	if c.WaitRecord {
		a = append(a, "--wait-record")
	}
	if c.RunDir != "" && c.RunDir != c.Dir {
		a = append(a, "--run-dir", c.RunDir)
	}
	keys := make([]string, 0, len(c.Labels))
	for k := range c.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a = append(a, "--label", k+"="+c.Labels[k])
	}
	for _, w := range c.ExitCommand {
		a = append(a, "--exit-command", w)
	}
	return append(a, c.Dir)
}

// Recorded is the engine's word to a monitor started with WaitRecord:
// the container is recorded as name, and its directories exist.
func Recorded(name string) []byte { return []byte("P " + name + "\n") }

// Run describes the container's current process.
type Run struct {
	Pid          int       `json:"pid"`
	StartedAt    time.Time `json:"startedAt"`
	RestartCount int       `json:"restartCount"`
}

// Exit is how the container's process ended.
type Exit struct {
	ExitCode   int       `json:"exitCode"`
	FinishedAt time.Time `json:"finishedAt"`
	OOMKilled  bool      `json:"oomKilled,omitempty"`
	// Error is set when the container could not be (re)started.
	Error string `json:"error,omitempty"`
	// Final is set when the monitor will not restart it.
	Final bool `json:"final"`
}

// ReadJSON reads one of the monitor's files; a missing file is
// os.ErrNotExist.
func ReadJSON(dir, name string, v any) error {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, name), err)
	}
	return nil
}

// WriteJSON replaces one of the container's files atomically (temp file
// and rename: readers never see half of it).
func WriteJSON(dir, name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, name))
}
