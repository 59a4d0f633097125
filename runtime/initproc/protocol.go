// Package initproc is the container side of berth-runtime: the code that
// runs as the container's init (or an exec'd process) after nsexec has
// placed it in its namespaces, up to execve of the user's program. It also
// defines the messages the runtime and init exchange.
package initproc

import (
	"encoding/json"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"berth/runtime/lsm"
	"berth/runtime/seccompfilter"
)

// EnvInitPipe names the environment variable that gives init the number
// of its socket to the runtime. nsexec.c reads it too (nsexec.EnvInitPipe
// is the same name): this package does not import nsexec, a cgo package,
// so that berth-runtime-init is built without cgo.
const EnvInitPipe = "_BERTH_INITPIPE"

// EnvProtocol names the environment variable in which the runtime tells
// init the version of the protocol it speaks (Protocol): berth-runtime-init
// is a binary apart, and one from another build would misread the
// messages.
const EnvProtocol = "_BERTH_INIT_PROTOCOL"

// Protocol is the version of the messages between the runtime and init;
// it changes with them.
const Protocol = "3"

// EnvEarly names the environment variable that marks an early init: one
// the runtime started before it had read the container's config
// (container.CreateOptions.EarlyInit). Its descriptors that depend on the
// config come on the init socket before the config (RecvEarly).
const EnvEarly = "_BERTH_INIT_EARLY"

// Mode says what the init process does.
type Mode string

const (
	// ModeCreate sets up a new container and waits for start.
	ModeCreate Mode = "create"
	// ModeExec runs another process in a running container.
	ModeExec Mode = "exec"
)

// Config is sent by the runtime to init over the init socket.
type Config struct {
	Mode Mode   `json:"mode"`
	ID   string `json:"id"`
	// Spec is the container's configuration (create only).
	Spec *specs.Spec `json:"spec,omitempty"`
	// Process is the process to start.
	Process *specs.Process `json:"process"`
	Rootfs  string         `json:"rootfs,omitempty"`
	Bundle  string         `json:"bundle,omitempty"`
	NoPivot bool           `json:"noPivot,omitempty"`
	// NoNewKeyring keeps the caller's session keyring.
	NoNewKeyring bool `json:"noNewKeyring,omitempty"`
	UserNS       bool `json:"userNS,omitempty"`
	CgroupNS     bool `json:"cgroupNS,omitempty"`
	// NewNet brings up loopback in a new network namespace.
	NewNet      bool              `json:"newNet,omitempty"`
	CgroupPaths map[string]string `json:"cgroupPaths,omitempty"`
	// RootfsTree is a detached copy of the rootfs's mount tree
	// (open_tree), to be attached at Rootfs before anything else is
	// mounted: an early init's mount namespace was copied from the
	// runtime's before the rootfs was mounted there. 0 when none; it
	// comes on the socket (RecvEarly), never in the JSON.
	RootfsTree int `json:"-"`
	// FifoFD is the O_PATH descriptor of the exec fifo (create only).
	FifoFD int `json:"fifoFD,omitempty"`
	// ConsoleFD is the connected console socket, or 0.
	ConsoleFD int `json:"consoleFD,omitempty"`
	// Seccomp is the process's compiled seccomp filter, if any: compiled
	// (and cached) by the runtime, only loaded by init.
	Seccomp *seccompfilter.Filter `json:"seccomp,omitempty"`
	// CapLastCap is the host kernel's highest capability number, read by
	// the runtime: the container's /proc/sys may be covered by a mount.
	CapLastCap int `json:"capLastCap"`
	// LSM says which security modules the host runs, read by the runtime
	// (the container's /sys may differ).
	LSM lsm.Host `json:"lsm"`
	// PreserveFDs counts descriptors from 3 up passed to the process.
	PreserveFDs int `json:"preserveFDs,omitempty"`
	// State is the container's OCI state JSON (status creating, the
	// init's pid on the host) given to the hooks init runs itself:
	// createContainer, and startContainer with status created.
	State json.RawMessage `json:"state,omitempty"`
}

// Message types.
const (
	// MsgReady: init has set the container up and waits for start.
	MsgReady = "ready"
	// MsgError: the sender failed; Error says why.
	MsgError = "error"
	// MsgCgroupMade: the runtime has made the container's cgroup (its
	// directories exist); MsgCgroupReady follows.
	MsgCgroupMade = "cgroup-made"
	// MsgCgroupReady: the runtime has put init in the container's cgroup.
	MsgCgroupReady = "cgroup-ready"
	// MsgRunHooks: init has made the container's namespaces and mounts and
	// waits, before pivot_root, for the runtime to run the prestart and
	// createRuntime hooks.
	MsgRunHooks = "run-hooks"
	// MsgHooksDone: the runtime's hooks succeeded; init goes on. A failure
	// is answered with MsgError.
	MsgHooksDone = "hooks-done"
)

// Message is what the runtime and init send each other after the config.
type Message struct {
	// Type is one of the Msg constants.
	Type  string `json:"type"`
	Error string `json:"error,omitempty"`
}
