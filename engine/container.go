package engine

import (
	"time"
)

// Status is a container's state as Docker names it.
type Status string

// The statuses `berth ps` shows.
const (
	StatusCreated    Status = "created"
	StatusRunning    Status = "running"
	StatusPaused     Status = "paused"
	StatusRestarting Status = "restarting"
	StatusExited     Status = "exited"
	StatusDead       Status = "dead"
)

// RestartPolicy is --restart.
type RestartPolicy struct {
	Name              string `json:"Name"` // no, on-failure, always, unless-stopped
	MaximumRetryCount int    `json:"MaximumRetryCount"`
}

// Container is a container's record.
type Container struct {
	ID      string    `json:"Id"`
	Name    string    `json:"Name"`
	Image   string    `json:"Image"`   // as the user named it
	ImageID string    `json:"ImageID"` // config digest
	Created time.Time `json:"Created"`
	// Path and Args are the process the container runs.
	Path string   `json:"Path"`
	Args []string `json:"Args"`
	// Runtime is the OCI runtime binary.
	Runtime string `json:"Runtime"`
	// Snapshotter holds the container's rootfs (--snapshotter when it
	// was created; "" in records older than the field: the engine's).
	Snapshotter string `json:"Snapshotter,omitempty"`
	// RuntimeRoot is the runtime's --root for this container, fixed when
	// it is created (under the run root then); empty in the records of
	// an older berth, which kept it in <root>/runtime.
	RuntimeRoot string `json:"RuntimeRoot,omitempty"`
	// RunDir holds the container's volatile files: its monitor's pid,
	// state files and sockets, and the runtime's pid file. It is under
	// the run root (a tmpfs), fixed when the container is created; empty
	// in the records of an older berth, which kept them in the container
	// directory.
	RunDir     string            `json:"RunDir,omitempty"`
	Labels     map[string]string `json:"Labels,omitempty"`
	Restart    RestartPolicy     `json:"RestartPolicy"`
	AutoRemove bool              `json:"AutoRemove"`
	StopSignal string            `json:"StopSignal,omitempty"`
	// StopTimeout is seconds to wait after StopSignal before KILL.
	StopTimeout int  `json:"StopTimeout"`
	TTY         bool `json:"Tty"`
	OpenStdin   bool `json:"OpenStdin"`
	// LogMaxSize and LogMaxFiles rotate the log.
	LogMaxSize  int64 `json:"LogMaxSize"`
	LogMaxFiles int   `json:"LogMaxFiles"`
	// Mounts are the config.json mounts the user asked for, for inspect.
	Mounts []MountPoint `json:"Mounts,omitempty"`
	// Volumes are the named (and anonymous) volumes it mounts.
	Volumes []string `json:"Volumes,omitempty"`
	// Net is its networking (--network, -p, --dns, ...); nil: none.
	Net *NetConfig `json:"Net,omitempty"`

	// State is what the engine last recorded; Inspect refreshes it from
	// the monitor's files.
	State State `json:"State"`
	// RestartCount counts restarts by the policy.
	RestartCount int `json:"RestartCount"`
	// Pending names the berth process (pid and start time) that is still
	// making the container (create, or run until it started): should that
	// process die first, the half-made container is removed the next time
	// any command looks, so a killed `run` leaves a running container or
	// none.
	Pending *ProcessRef `json:"Pending,omitempty"`
}

// MountPoint is one mount of a container as inspect shows it.
type MountPoint struct {
	Type        string `json:"Type"`
	Name        string `json:"Name,omitempty"`
	Source      string `json:"Source"`
	Destination string `json:"Destination"`
	RW          bool   `json:"RW"`
}

// State is Docker's container state.
type State struct {
	Status     Status    `json:"Status"`
	Running    bool      `json:"Running"`
	Paused     bool      `json:"Paused"`
	Restarting bool      `json:"Restarting"`
	OOMKilled  bool      `json:"OOMKilled"`
	Dead       bool      `json:"Dead"`
	Pid        int       `json:"Pid"`
	ExitCode   int       `json:"ExitCode"`
	Error      string    `json:"Error"`
	StartedAt  time.Time `json:"StartedAt"`
	FinishedAt time.Time `json:"FinishedAt"`
}

// ShortID is the 12-character form Docker shows.
func (c *Container) ShortID() string { return c.ID[:12] }

// ProcessRef identifies a process across pid reuse.
type ProcessRef struct {
	Pid   int    `json:"Pid"`
	Start uint64 `json:"Start"` // start time in clock ticks since boot
}
