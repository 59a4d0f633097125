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
	"berth/runtime/seccomp"
	"berth/runtime/selfexe"
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
	// GoAhead, when set, is read before the bundle is: one byte, 'G',
	// lets the create go on; anything else (end of file: the caller gave
	// up) ends it with ErrNoGoAhead, before anything is made. It lets a
	// caller start the runtime while it still writes the bundle (berth's
	// monitor does). If it is a socket, Run writes 'R' on it once the
	// container runs (tellRunning). Create and Run close it.
	GoAhead *os.File
	// EarlyInit takes the init berth-runtime's constructor started for
	// --early-init (earlyInit), if it did: it is used if the config asks
	// for the default spec's namespaces and berth-runtime-init can run in
	// them, and ended otherwise.
	EarlyInit bool
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
func Create(o CreateOptions) (*State, error) {
	if o.GoAhead != nil {
		defer o.GoAhead.Close()
	}
	st, unlock, err := create(o)
	if err != nil {
		return nil, err
	}
	unlock()
	return st, nil
}

// create is Create, returning with the container's lock held (unlock
// releases it; nil on error), so that Run starts the container it made without another
// process in between and without reading its state back.
func create(o CreateOptions) (st *State, unlock func(), err error) {
	var early *earlyInit
	if o.EarlyInit {
		early = takeEarlyInit()
	}
	// Ended unless spawn takes it.
	defer func() { early.discard() }()
	if err := ValidateID(o.ID); err != nil {
		return nil, nil, err
	}
	// What does not depend on the config is read, and the handle init is
	// started from opened, while the config is read. (berth-runtime's
	// cgprime has started the kernel's wait before a first move into a
	// cgroup already, as the process started.)
	hostc := make(chan hostLayout, 1)
	go func() {
		h, err := cgroups.ReadHost()
		hostc <- hostLayout{h, err, owner()}
	}()
	exec := make(chan openedExe, 1)
	openExe := func() {
		go func() {
			f, initBin, err := selfexe.OpenWith(InitBinary)
			exec <- openedExe{f, initBin, err}
		}()
	}
	// Not needed with an early init, unless it does not fit.
	exeOpened := early == nil
	if exeOpened {
		openExe()
	}
	exeTaken := false
	defer func() {
		if exeOpened && !exeTaken {
			r := <-exec
			if r.f != nil {
				r.f.Close()
			}
			if r.initBin != nil {
				r.initBin.Close()
			}
		}
	}()
	if o.GoAhead != nil {
		// The decoder warms up while the engine makes the bundle.
		go spec.Warm()
		if err := waitGoAhead(o.GoAhead); err != nil {
			return nil, nil, err
		}
	}
	bundle, err := filepath.Abs(o.Bundle)
	if err != nil {
		return nil, nil, fmt.Errorf("bundle %s: %w", o.Bundle, err)
	}
	cfg, cfgRaw, err := spec.LoadRaw(bundle)
	if err != nil {
		return nil, nil, err
	}
	if err := hooks.Validate(cfg.Hooks); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", filepath.Join(bundle, spec.ConfigName), err)
	}
	if cfg.Process == nil {
		return nil, nil, fmt.Errorf("%s: process: required to create a container", filepath.Join(bundle, spec.ConfigName))
	}
	if cfg.Linux.IntelRdt != nil {
		if err := CheckIntelRdt(); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", filepath.Join(bundle, spec.ConfigName), err)
		}
	}
	var proxy *os.File
	if cfg.Process.Terminal && o.ConsoleSocket == "" && o.Console == nil && o.proxyTerminal {
		var ours, theirs *os.File
		if theirs, ours, err = socketPair(); err != nil {
			return nil, nil, err
		}
		defer theirs.Close()
		defer func() {
			if err != nil { // create's result
				ours.Close()
			}
		}()
		o.Console, proxy = theirs, ours
	}
	if cfg.Process.Terminal && o.ConsoleSocket == "" && o.Console == nil {
		return nil, nil, errors.New("process.terminal is set: --console-socket is required")
	}
	if !cfg.Process.Terminal && (o.ConsoleSocket != "" || o.Console != nil) {
		return nil, nil, errors.New("--console-socket given but process.terminal is false")
	}
	boot, err := bootstrapFor(cfg)
	if err != nil {
		return nil, nil, err
	}
	// The seccomp filter is compiled, or read from the cache, while the
	// state is recorded and init starts; spawn waits for it before it
	// sends init its config. A bad profile stays the error reported first
	// whatever else fails after this point, as when it was compiled here.
	filterc := make(chan compiledFilter, 1)
	go func() {
		f, err := seccompFilter(o.Root, cfg)
		filterc <- compiledFilter{f, err}
	}()
	var filter *compiledFilter
	waitFilter := func() (*seccomp.Filter, error) {
		if filter == nil {
			r := <-filterc
			filter = &r
		}
		return filter.f, filter.err
	}
	defer func() {
		if err == nil {
			return
		}
		if _, ferr := waitFilter(); ferr != nil {
			err = ferr
		}
	}()
	cgPath := "/berth/" + o.ID
	if cfg.Linux.CgroupsPath != "" {
		cgPath = cfg.Linux.CgroupsPath
	}
	var cg *cgroups.Manager
	host := <-hostc
	if host.err == nil {
		cg, err = host.h.New(cgPath)
	} else {
		// New reports a bad path before a layout it cannot read.
		cg, err = cgroups.New(cgPath)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("linux.cgroupsPath: %w", err)
	}
	if err := os.MkdirAll(o.Root, 0o700); err != nil {
		return nil, nil, fmt.Errorf("state root %s: %w", o.Root, err)
	}
	dir := stateDir(o.Root, o.ID)
	if err := os.Mkdir(dir, 0o711); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, nil, fmt.Errorf("container %q: %w", o.ID, ErrExist)
		}
		return nil, nil, fmt.Errorf("create state directory: %w", err)
	}
	release, err := lockDir(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	var sp *started
	var cfgJSON []byte
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
		release()
		if sp != nil && rec != nil {
			// The container was stopped; the lifecycle goes on with
			// delete and its poststop hooks (runtime-spec runtime.md).
			s := rec.OCI()
			s.Status, s.Pid = specs.StateStopped, 0
			runPoststop(cfg.Hooks, s)
		}
	}()
	// The record of the container is written (makeCgroup) before its
	// cgroup is made: should this process die midway, later commands see
	// it creating and delete finds its cgroup and whatever process made it
	// in.
	st = &State{
		ID: o.ID, Bundle: bundle, Rootfs: cfg.Root.Path, Created: time.Now().UTC(),
		Owner: host.owner, Config: cfg, Cgroup: cg, NoPivot: o.NoPivot,
		Annotations: cfg.Annotations, dir: dir,
	}
	if sharesMountNS(cfg) {
		before, err := mountsUnder(cfg.Root.Path)
		if err != nil {
			return nil, nil, err
		}
		for id := range before {
			st.HostMounts = append(st.HostMounts, id)
		}
	}
	rec = st
	fifoPath := filepath.Join(dir, fifoName)
	if err := unix.Mkfifo(fifoPath, 0o622); err != nil {
		return nil, nil, fmt.Errorf("create exec fifo: %w", err)
	}
	// Writable by init whatever user it has become by then (the umask
	// took the bits away), as runc makes it.
	if err := os.Chmod(fifoPath, 0o622); err != nil {
		return nil, nil, fmt.Errorf("create exec fifo: %w", err)
	}
	fifo, err := os.OpenFile(fifoPath, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open exec fifo: %w", err)
	}
	defer fifo.Close()
	consoleSock := o.Console
	if o.ConsoleSocket != "" {
		c, err := console.Dial(o.ConsoleSocket)
		if err != nil {
			return nil, nil, err
		}
		defer c.Close()
		consoleSock = c
	}

	// The runtime adopts the container's init if the constructor forks, so
	// a failed setup can be reaped here.
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	s := &spawn{
		cfg: initproc.Config{
			Mode: initproc.ModeCreate, ID: o.ID, Spec: initSpec(cfg),
			Rootfs: cfg.Root.Path, Bundle: bundle, NoPivot: o.NoPivot, NoNewKeyring: o.NoNewKeyring,
			UserNS:      hasNewNS(cfg, specs.UserNamespace),
			CgroupNS:    hasNewNS(cfg, specs.CgroupNamespace),
			NewNet:      hasNewNS(cfg, specs.NetworkNamespace),
			CgroupPaths: cg.Paths,
			LSM:         lsm.Detect(),
			Process:     cfg.Process,
		},
		boot:     boot,
		dir:      bundle,
		cgroup:   cg,
		linux:    cfg.Linux,
		fifo:     fifo,
		console:  consoleSock,
		preserve: o.PreserveFDs,
		stdio:    stdio(o.Stdio),
		// The container is recorded, and its cgroup made, while init
		// starts; init waits for the cgroup before anything needs it.
		// Nothing is made before the record: init, until it has its
		// config, ends with the runtime (its socket closes), and the
		// cgroup comes after the record that lets delete find it.
		makeCgroup: func() error {
			// The config is most of the record, and the same in its
			// second write: config.json's own text when it can be.
			b := []byte(cfgRaw)
			if b == nil {
				enc, err := json.Marshal(cfg)
				if err != nil {
					return fmt.Errorf("encode state: %w", err)
				}
				b = enc
			}
			cfgJSON = b
			if err := st.saveWith(b); err != nil {
				return err
			}
			if err := cg.Create(); err != nil {
				return err
			}
			return cg.Set(cfg.Linux.Resources)
		},
		filter: waitFilter,
		early:  early,
		exe: func() (*os.File, *os.File, error) {
			if !exeOpened {
				exeOpened = true
				openExe()
			}
			exeTaken = true
			r := <-exec
			return r.f, r.initBin, r.err
		},
	}
	if initNeedsState(cfg.Hooks) {
		s.state = func(pid int) ([]byte, error) {
			return creatingState(st, pid)
		}
	}
	if o.beforeStart != nil {
		o.beforeStart()
	}
	sp, err = s.start()
	if err != nil {
		return nil, nil, err
	}
	// The last state write, and the pid file, are staged while init sets
	// the container up, and put in place once it is ready.
	ps, err := readStat(sp.pid)
	if err != nil {
		return nil, nil, fmt.Errorf("read init process: %w", err)
	}
	done := *st
	done.Pid, done.PidStart = sp.pid, ps.startTime
	final, err := done.stage(cfgJSON)
	if err != nil {
		return nil, nil, err
	}
	defer final.discard()
	var pidFile *staged
	if o.PidFile != "" {
		if pidFile, err = stagePidFile(o.PidFile, sp.pid); err != nil {
			return nil, nil, err
		}
		defer pidFile.discard()
	}
	if err := waitReady(sp, st, o.ID); err != nil {
		return nil, nil, err
	}
	sp.sock.Close()
	st.Pid, st.PidStart, st.proxy = sp.pid, ps.startTime, proxy
	if err := final.commit(); err != nil {
		return nil, nil, err
	}
	if pidFile != nil {
		if err := pidFile.commit(); err != nil {
			return nil, nil, err
		}
	}
	return st, release, nil
}

// hostLayout is the result of cgroups.ReadHost, and the caller's name.
type hostLayout struct {
	h     *cgroups.Host
	err   error
	owner string
}

// openedExe is the result of selfexe.OpenWith.
type openedExe struct {
	f, initBin *os.File
	err        error
}

// compiledFilter is the result of seccompFilter.
type compiledFilter struct {
	f   *seccomp.Filter
	err error
}

// initNeedsState reports whether init runs hooks itself (createContainer,
// startContainer), which get the container's state JSON.
func initNeedsState(h *specs.Hooks) bool {
	return len(hooks.List(h, hooks.CreateContainer)) > 0 || len(hooks.List(h, hooks.StartContainer)) > 0
}

// initSpec is the spec init gets: without what init never reads, which a
// fresh process would spend milliseconds decoding. linux.seccomp is
// compiled by the runtime into the filter init loads (the system call
// names of a Docker profile are most of a config's size); the process
// comes in the init config on its own; the runtime sets the cgroup's
// resources; annotations are the runtime's.
func initSpec(s *specs.Spec) *specs.Spec {
	if s == nil {
		return nil
	}
	c := *s
	c.Process, c.Annotations = nil, nil
	if s.Linux != nil {
		l := *s.Linux
		l.Seccomp, l.Resources = nil, nil
		c.Linux = &l
	}
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
	st, err := stagePidFile(path, pid)
	if err != nil {
		return err
	}
	return st.commit()
}

// stagePidFile writes the pid file under a temporary name; its commit
// puts it in place.
func stagePidFile(path string, pid int) (*staged, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("pid file %s: %w", path, err)
	}
	return stageFile(abs, []byte(strconv.Itoa(pid)), 0o644)
}
