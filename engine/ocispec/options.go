// Package ocispec turns an image's configuration and the options of
// `berth run`/`create` into the OCI runtime configuration (config.json) of
// a container, as Docker's daemon does: entrypoint and command, user,
// environment, mounts (binds, named volumes, tmpfs), resources,
// capabilities, seccomp, devices, and the default confinement of
// berth-runtime's spec.
package ocispec

import (
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Options are what the user asked for, as the CLI received it: sizes and
// lists are still strings, so that Build reports a bad value with the flag
// it came from ("--memory 12x: ...").
type Options struct {
	// ID is the container's ID (the runtime's container id, the default
	// hostname's source: its first 12 characters).
	ID string
	// Image is the image's configuration (Cmd, Entrypoint, Env, User,
	// WorkingDir, Volumes, StopSignal, Labels, ExposedPorts).
	Image ocispec.ImageConfig
	// Rootfs is the container's root filesystem on the host, mounted.
	Rootfs string

	// Entrypoint overrides the image's when set (--entrypoint); a set but
	// empty value ("") clears it, as Docker does.
	Entrypoint *string
	// Cmd replaces the image's Cmd when not empty (the arguments after
	// the image name).
	Cmd []string
	// Env are -e values (KEY=value, or KEY alone to take it from
	// HostEnv) already merged with --env-file lines, in order.
	Env     []string
	HostEnv func(key string) (string, bool)
	// User is -u (user, user:group, uid, uid:gid; names resolved in the
	// rootfs' /etc/passwd and /etc/group).
	User    string
	Workdir string
	// Hostname is -h (default: the ID's first 12 characters).
	Hostname string
	TTY      bool
	// ConsoleRows and ConsoleCols are the size of the terminal berth was
	// run from (Docker's ConsoleSize): with TTY the container's terminal
	// has it from the start. Zero when unknown.
	ConsoleRows, ConsoleCols uint
	// OpenStdin is -i.
	OpenStdin bool
	ReadOnly  bool
	// Init runs berth's minimal init as PID 1 (--init): InitPath is the
	// host path of the init binary, bound read-only at /sbin/berth-init.
	Init     bool
	InitPath string

	// Binds are -v values: /host:/ctr[:opts], name:/ctr[:opts] (a named
	// volume), or /ctr alone (an anonymous volume).
	Binds []string
	// Mounts are --mount values (type=bind|volume|tmpfs,src=,dst=,ro,...).
	Mounts []string
	// Tmpfs are --tmpfs values (/path[:opts]).
	Tmpfs []string
	// Volume returns the host directory of a named volume, creating it (and
	// filling it from the image's content at dest on first use, as
	// Docker does) when needed; anonymous volumes get a generated name.
	Volume func(name, dest string) (string, error)

	// Resources, as the flags give them.
	Memory, MemorySwap, MemoryReservation string // sizes: 512m, 1g, -1
	CPUs                                  string // 1.5
	CPUShares                             string
	CPUSetCPUs, CPUSetMems                string
	PidsLimit                             string
	Ulimits                               []string // nofile=1024:2048
	// Confinement.
	Privileged  bool
	CapAdd      []string
	CapDrop     []string
	SecurityOpt []string // seccomp=unconfined|PATH, no-new-privileges[:true|false], apparmor=, label=
	Devices     []string // /dev/host[:/dev/ctr[:rwm]]
	Sysctls     []string
	// Labels become OCI annotations too.
	Labels map[string]string

	// Network namespace: "" for a new one with loopback only (until berth
	// has networking), "host" for the host's, or a path to join.
	NetNS string

	// ContainerDir is a host directory of the container's own (the
	// engine's per-container state directory) where Build writes the
	// hostname, hosts and resolv.conf files it binds into the container,
	// as Docker does. Empty: those files are not generated.
	ContainerDir string
	// EtcDir, if set, is where those files go instead: in the container's
	// run directory, on the run root's tmpfs, as Podman keeps them (a
	// start that finds them gone after a reboot writes them again,
	// WriteEtcFiles).
	EtcDir string
	// HostResolvConf is the host's resolver configuration copied into the
	// container (default /etc/resolv.conf).
	HostResolvConf string
}
