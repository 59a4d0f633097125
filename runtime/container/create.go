package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/runtime/cgroups"
	"berth/runtime/console"
	"berth/runtime/hooks"
	"berth/runtime/initproc"
	"berth/runtime/lsm"
	"berth/runtime/nsexec"
	"berth/runtime/spec"
)

// CreateOptions are the inputs of Create.
type CreateOptions struct {
	Root, ID, Bundle string
	// PidFile, when set, receives the init's pid.
	PidFile string
	// ConsoleSocket is the path of a unix socket to send the terminal to;
	// Console is an already-connected socket used instead (foreground run).
	ConsoleSocket string
	Console       *os.File
	NoPivot       bool
	NoNewKeyring  bool
	PreserveFDs   int
	// Stdio of the container's process; nil entries mean the caller's.
	Stdio [3]*os.File
	// beforeStart, if set, is called just before the container's first
	// process is started.
	beforeStart func()
	// proxyTerminal makes Create, for a process with a terminal and no
	// console socket, keep the terminal's other end in State.proxy.
	proxyTerminal bool
}

// cloneFlags maps namespace types to their CLONE_NEW* flag and the name of
// their file under /proc/<pid>/ns.
var cloneFlags = map[specs.LinuxNamespaceType]struct {
	flag uintptr
	file string
}{
	specs.UserNamespace:    {unix.CLONE_NEWUSER, "user"},
	specs.IPCNamespace:     {unix.CLONE_NEWIPC, "ipc"},
	specs.UTSNamespace:     {unix.CLONE_NEWUTS, "uts"},
	specs.NetworkNamespace: {unix.CLONE_NEWNET, "net"},
	specs.PIDNamespace:     {unix.CLONE_NEWPID, "pid"},
	specs.MountNamespace:   {unix.CLONE_NEWNS, "mnt"},
	specs.CgroupNamespace:  {unix.CLONE_NEWCGROUP, "cgroup"},
	specs.TimeNamespace:    {unix.CLONE_NEWTIME, "time"},
}

// Create sets up a container whose init waits for Start. On any error
// nothing is left behind: no state directory, process or cgroup.
func Create(o CreateOptions) (st *State, err error) {
	if err := ValidateID(o.ID); err != nil {
		return nil, err
	}
	bundle, err := filepath.Abs(o.Bundle)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", o.Bundle, err)
	}
	cfg, err := spec.Load(bundle)
	if err != nil {
		return nil, err
	}
	if err := hooks.Validate(cfg.Hooks); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(bundle, spec.ConfigName), err)
	}
	if cfg.Process == nil {
		return nil, fmt.Errorf("%s: process: required to create a container", filepath.Join(bundle, spec.ConfigName))
	}
	if cfg.Linux.IntelRdt != nil {
		if err := CheckIntelRdt(); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(bundle, spec.ConfigName), err)
		}
	}
	var proxy *os.File
	if cfg.Process.Terminal && o.ConsoleSocket == "" && o.Console == nil && o.proxyTerminal {
		var ours, theirs *os.File
		if theirs, ours, err = socketPair(); err != nil {
			return nil, err
		}
		defer theirs.Close()
		defer func() {
			if err != nil { // Create's result
				ours.Close()
			}
		}()
		o.Console, proxy = theirs, ours
	}
	if cfg.Process.Terminal && o.ConsoleSocket == "" && o.Console == nil {
		return nil, errors.New("process.terminal is set: --console-socket is required")
	}
	if !cfg.Process.Terminal && (o.ConsoleSocket != "" || o.Console != nil) {
		return nil, errors.New("--console-socket given but process.terminal is false")
	}
	boot, err := bootstrapFor(cfg)
	if err != nil {
		return nil, err
	}
	filter, err := seccompFilter(o.Root, cfg)
	if err != nil {
		return nil, err
	}
	cgPath := "/berth/" + o.ID
	if cfg.Linux.CgroupsPath != "" {
		cgPath = cfg.Linux.CgroupsPath
	}
	cg, err := cgroups.New(cgPath)
	if err != nil {
		return nil, fmt.Errorf("linux.cgroupsPath: %w", err)
	}
	if err := os.MkdirAll(o.Root, 0o700); err != nil {
		return nil, fmt.Errorf("state root %s: %w", o.Root, err)
	}
	dir := stateDir(o.Root, o.ID)
	if err := os.Mkdir(dir, 0o711); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("container %q: %w", o.ID, ErrExist)
		}
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer unlock()
	var sp *started
	// rec is the container's record; st, the result, is nil on failure.
	var rec *State
	defer func() {
		if err == nil {
			return
		}
		if sp != nil {
			sp.kill()
		}
		_ = cg.Destroy()
		os.RemoveAll(dir)
		if sp != nil && rec != nil {
			// The container was stopped; the lifecycle goes on with
			// delete and its poststop hooks (runtime-spec runtime.md).
			s := rec.OCI()
			s.Status, s.Pid = specs.StateStopped, 0
			runPoststop(cfg.Hooks, s)
		}
	}()
	// Record the container before anything is made: should this process
	// die midway, later commands see it creating and delete finds its
	// cgroup and whatever process made it in.
	st = &State{
		ID: o.ID, Bundle: bundle, Rootfs: cfg.Root.Path, Created: time.Now().UTC(),
		Owner: owner(), Config: cfg, Cgroup: cg, NoPivot: o.NoPivot,
		Annotations: cfg.Annotations, dir: dir,
	}
	if sharesMountNS(cfg) {
		before, err := mountsUnder(cfg.Root.Path)
		if err != nil {
			return nil, err
		}
		for id := range before {
			st.HostMounts = append(st.HostMounts, id)
		}
	}
	rec = st
	if err := st.save(); err != nil {
		return nil, err
	}

	fifoPath := filepath.Join(dir, fifoName)
	if err := unix.Mkfifo(fifoPath, 0o622); err != nil {
		return nil, fmt.Errorf("create exec fifo: %w", err)
	}
	// Writable by init whatever user it has become by then (the umask
	// took the bits away), as runc makes it.
	if err := os.Chmod(fifoPath, 0o622); err != nil {
		return nil, fmt.Errorf("create exec fifo: %w", err)
	}
	fifo, err := os.OpenFile(fifoPath, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open exec fifo: %w", err)
	}
	defer fifo.Close()
	consoleSock := o.Console
	if o.ConsoleSocket != "" {
		c, err := console.Dial(o.ConsoleSocket)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		consoleSock = c
	}

	if err := cg.Create(); err != nil {
		return nil, err
	}
	if err := cg.Set(cfg.Linux.Resources); err != nil {
		return nil, err
	}
	// The runtime adopts the container's init if the constructor forks, so
	// a failed setup can be reaped here.
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	s := &spawn{
		cfg: initproc.Config{
			Mode: initproc.ModeCreate, ID: o.ID, Spec: initSpec(cfg), Process: cfg.Process, Seccomp: filter,
			Rootfs: cfg.Root.Path, Bundle: bundle, NoPivot: o.NoPivot, NoNewKeyring: o.NoNewKeyring,
			UserNS:      hasNewNS(cfg, specs.UserNamespace),
			CgroupNS:    hasNewNS(cfg, specs.CgroupNamespace),
			NewNet:      hasNewNS(cfg, specs.NetworkNamespace),
			CgroupPaths: cg.Paths,
			LSM:         lsm.Detect(),
		},
		boot:     boot,
		dir:      bundle,
		cgroup:   cg,
		linux:    cfg.Linux,
		fifo:     fifo,
		console:  consoleSock,
		preserve: o.PreserveFDs,
		stdio:    stdio(o.Stdio),
		state: func(pid int) ([]byte, error) {
			return creatingState(st, pid)
		},
	}
	if o.beforeStart != nil {
		o.beforeStart()
	}
	sp, err = s.start()
	if err != nil {
		return nil, err
	}
	if err := waitReady(sp, st, o.ID); err != nil {
		return nil, err
	}
	sp.sock.Close()
	ps, err := readStat(sp.pid)
	if err != nil {
		return nil, fmt.Errorf("read init process: %w", err)
	}
	st.Pid, st.PidStart, st.proxy = sp.pid, ps.startTime, proxy
	if err := st.save(); err != nil {
		return nil, err
	}
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, sp.pid); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// initSpec is the spec init gets: without linux.seccomp, which the runtime
// has compiled into the filter init loads. The system call names of a
// Docker profile are most of a config's size, and init, a fresh process,
// would spend milliseconds decoding what it never reads.
func initSpec(s *specs.Spec) *specs.Spec {
	if s == nil || s.Linux == nil || s.Linux.Seccomp == nil {
		return s
	}
	c, l := *s, *s.Linux
	l.Seccomp = nil
	c.Linux = &l
	return &c
}

// waitReady reads init's messages until it reports ready, running the
// prestart and createRuntime hooks when init asks for them.
func waitReady(sp *started, st *State, id string) error {
	for {
		msg, err := sp.readReply()
		if err != nil {
			if handshakeEOF(err) {
				err = errors.New("container init exited during setup")
			}
			return fmt.Errorf("create container %s: %w", id, err)
		}
		switch msg.Type {
		case initproc.MsgReady:
			return nil
		case initproc.MsgRunHooks:
			herr := runtimeHooks(st, sp.pid)
			answer := initproc.Message{Type: initproc.MsgHooksDone}
			if herr != nil {
				answer = initproc.Message{Type: initproc.MsgError, Error: herr.Error()}
			}
			if err := json.NewEncoder(sp.sock).Encode(answer); err != nil && herr == nil {
				return fmt.Errorf("create container %s: answer init: %w", id, err)
			}
			if herr != nil {
				return fmt.Errorf("create container %s: %w", id, herr)
			}
		default:
			return fmt.Errorf("create container %s: unexpected message %q from init", id, msg.Type)
		}
	}
}

// runtimeHooks runs the prestart (deprecated, run first as runc does) and
// createRuntime hooks in the runtime's namespaces, while init waits before
// pivot_root with the container's namespaces and mounts made.
func runtimeHooks(st *State, pid int) error {
	state, err := creatingState(st, pid)
	if err != nil {
		return err
	}
	for _, kind := range []hooks.Kind{hooks.Prestart, hooks.CreateRuntime} {
		if err := hooks.RunAll(context.Background(), kind, hooks.List(st.Config.Hooks, kind), state); err != nil {
			return err
		}
	}
	return nil
}

// creatingState is the OCI state JSON the create-time hooks get: status
// creating, with the pid of init on the host.
func creatingState(st *State, pid int) ([]byte, error) {
	s := st.OCI()
	s.Status, s.Pid = specs.StateCreating, pid
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode state for hooks: %w", err)
	}
	return b, nil
}

// bootstrapFor turns the namespaces of cfg into what nsexec does.
func bootstrapFor(cfg *specs.Spec) (nsexec.Bootstrap, error) {
	var b nsexec.Bootstrap
	byType := map[specs.LinuxNamespaceType]int{}
	for i, n := range cfg.Linux.Namespaces {
		byType[n.Type] = i
	}
	for _, t := range spec.NamespaceOrder() {
		i, ok := byType[t]
		if !ok {
			continue
		}
		n := cfg.Linux.Namespaces[i]
		if n.Path == "" {
			// A new cgroup namespace is made by init itself once it is in
			// the container's cgroup.
			if t != specs.CgroupNamespace {
				b.Unshare |= cloneFlags[t].flag
			}
			continue
		}
		if err := checkNamespaceFile(n.Path, cloneFlags[t].flag); err != nil {
			return b, fmt.Errorf("linux.namespaces[%d].path (%s): %w", i, t, err)
		}
		b.Join = append(b.Join, n.Path)
		if t == specs.PIDNamespace || t == specs.TimeNamespace {
			b.Fork = true
		}
		if t == specs.UserNamespace {
			b.BecomeRoot = true
		}
	}
	if len(cfg.Linux.TimeOffsets) > 0 {
		var s string
		for _, clock := range []string{"monotonic", "boottime"} {
			if off, ok := cfg.Linux.TimeOffsets[clock]; ok {
				s += fmt.Sprintf("%s %d %d\n", clock, off.Secs, off.Nanosecs)
			}
		}
		b.TimeOffsets = s
	}
	return b, nil
}

// checkNamespaceFile makes sure path is a namespace of the expected kind,
// so a typo or a plain file gives a clear error before anything starts.
func checkNamespaceFile(path string, flag uintptr) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(fd)
	t, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
	if err != nil {
		return fmt.Errorf("%s is not a namespace file: %w", path, err)
	}
	if uintptr(t) != flag {
		return fmt.Errorf("%s is a namespace of another type (%s)", path, nsTypeName(uintptr(t)))
	}
	return nil
}

// nsTypeName names a CLONE_NEW* flag as config.json does.
func nsTypeName(flag uintptr) string {
	for t, c := range cloneFlags {
		if c.flag == flag {
			return string(t)
		}
	}
	return fmt.Sprintf("%#x", flag)
}

func hasNewNS(cfg *specs.Spec, t specs.LinuxNamespaceType) bool {
	for _, n := range cfg.Linux.Namespaces {
		if n.Type == t && n.Path == "" {
			return true
		}
	}
	return false
}

func stdio(in [3]*os.File) [3]*os.File {
	def := [3]*os.File{os.Stdin, os.Stdout, os.Stderr}
	for i := range in {
		if in[i] != nil {
			def[i] = in[i]
		}
	}
	return def
}

func owner() string {
	u, err := user.LookupId(strconv.Itoa(os.Geteuid()))
	if err != nil {
		return strconv.Itoa(os.Geteuid())
	}
	return u.Username
}

func writePidFile(path string, pid int) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("pid file %s: %w", path, err)
	}
	return writeFileAtomic(abs, []byte(strconv.Itoa(pid)), 0o644)
}
