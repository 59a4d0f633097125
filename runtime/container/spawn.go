package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/runtime/caps"
	"berth/runtime/cgroups"
	"berth/runtime/initproc"
	"berth/runtime/nsexec"
	"berth/runtime/seccomp"
	"berth/runtime/selfexe"
)

// spawn starts the container's init from a read-only view of the
// runtime's binaries: berth-runtime-init in the namespaces its clone
// makes (cloneOnly), or `berth-runtime init` through the nsexec
// bootstrap.
type spawn struct {
	cfg     initproc.Config
	boot    nsexec.Bootstrap
	dir     string
	cgroup  *cgroups.Manager
	linux   *specs.Linux // id mappings for a new user namespace
	fifo    *os.File
	console *os.File
	// preserve counts the caller's descriptors from 3 up passed through.
	preserve int
	stdio    [3]*os.File
	// state, if set, gives the OCI state JSON for the hooks init runs,
	// once init's pid is known.
	state func(pid int) ([]byte, error)
	// makeCgroup, if set, creates the cgroup and sets its limits while
	// the clone makes init's namespaces and init starts (the exec, nsexec
	// and the Go runtime's start take milliseconds the runtime would
	// otherwise wait through).
	makeCgroup func() error
	// filter, if set, returns cfg.Seccomp once init has been started, so
	// that compiling or reading the filter overlaps with init's start.
	filter func() (*seccomp.Filter, error)
	// exe, if set, returns the handles init may be started from (opened
	// meanwhile): berth-runtime's, and berth-runtime-init's or nil;
	// selfexe.Open otherwise. start closes them.
	exe func() (own, initBin *os.File, err error)
	// early, if set, is an init started before the config was read;
	// start uses it if it fits (takeEarly), and ends it otherwise.
	early *earlyInit
}

// InitBinary is berth-runtime-init, the container's init built without
// cgo, which berth-runtime starts from beside its own binary when it can
// (cloneOnly); `berth-runtime init` otherwise, or without it.
const InitBinary = "berth-runtime-init"

// started is an init process after the bootstrap.
type started struct {
	// pid continues into Go (the container's init, or the exec'd process).
	pid int
	// proc is the process we started; it has already been reaped when the
	// constructor forked.
	proc *child
	sock *os.File
	// dec reads init's messages; made on first use.
	dec *json.Decoder
}

func (sp *spawn) start() (*started, error) {
	sp.cfg.PreserveFDs = sp.preserve
	if p := sp.cfg.Process; p != nil {
		cp := *p
		cp.Env = dedupEnv(p.Env)
		sp.cfg.Process = &cp
	}
	// Init cannot trust the container's /proc/sys to say which
	// capabilities the kernel has: read it here, on the host.
	last, err := caps.LastCap()
	if err != nil {
		return nil, err
	}
	sp.cfg.CapLastCap = last
	// The cgroup is made (record first) while the clone makes the
	// namespaces and init starts: init waits for it before its cgroup
	// mount.
	made := make(chan error, 1)
	if sp.cgroup != nil && sp.makeCgroup != nil {
		go func() { made <- sp.makeCgroup() }()
	} else {
		made <- nil
	}
	// berth-runtime-init, when it is there and clone can make the
	// namespaces: nsexec has nothing to do.
	direct := cloneOnly(sp.boot)
	var proc *child
	var parent *os.File
	if pre := sp.takeEarly(direct); pre != nil {
		proc, parent = pre.proc, pre.sock
	} else if proc, parent, direct, err = sp.launch(direct); err != nil {
		<-made
		return nil, err
	}
	st := &started{proc: proc, sock: parent}
	// On cgroup v1 the first move into a cgroup waits for an RCU grace
	// period (8 ms or more); later moves do not. Moving this first process
	// (berth-runtime-init is the container's init; nsexec forks it and
	// exits) starts that wait now, while the namespaces are made, if
	// nothing has (berth-runtime's cgprime); whether the move lands does
	// not matter, and one hierarchy is enough. The
	// process stays our unreaped child until the move is done, so its pid
	// cannot name another process meanwhile. When this start makes the
	// cgroup, the move waits until it is made.
	madeDone := make(chan error, 1)
	early := make(chan error, 1)
	go func(pid int) {
		err := <-made
		madeDone <- err
		if err == nil && sp.cgroup != nil {
			_ = sp.cgroup.AddOne(pid)
		}
		early <- err
	}(proc.pid)
	earlyDone := false
	waitEarly := func() error {
		if earlyDone {
			return nil
		}
		earlyDone = true
		return <-early
	}
	fail := func(err error) (*started, error) {
		_ = waitEarly()
		st.kill()
		return nil, err
	}
	pid := proc.pid
	if !direct {
		pid, err = nsexec.Handshake(parent, sp.boot, proc.pid, sp.writeIDMaps)
		if err != nil {
			return fail(fmt.Errorf("enter namespaces: %w", err))
		}
	}
	st.pid = pid
	if p := sp.cfg.Process; p != nil && p.OOMScoreAdj != nil {
		path := "/proc/" + strconv.Itoa(pid) + "/oom_score_adj"
		if err := os.WriteFile(path, []byte(strconv.Itoa(*p.OOMScoreAdj)), 0); err != nil {
			return fail(fmt.Errorf("process.oomScoreAdj: %w", err))
		}
	}
	if sp.state != nil {
		if sp.cfg.State, err = sp.state(pid); err != nil {
			return fail(err)
		}
	}
	if sp.filter != nil {
		if sp.cfg.Seccomp, err = sp.filter(); err != nil {
			return fail(err)
		}
	}
	enc := json.NewEncoder(parent)
	if err := enc.Encode(&sp.cfg); err != nil {
		return fail(st.initReason(fmt.Errorf("send init config: %w", err)))
	}
	// Init starts its Go runtime and sets up the rootfs meanwhile. It
	// waits for "made" before it binds the cgroup's directories, and for
	// "ready" (it is in the cgroup) before the cgroup namespace, a fresh
	// cgroup2 mount, hooks or execve.
	if err := <-madeDone; err != nil {
		_ = enc.Encode(initproc.Message{Type: initproc.MsgError, Error: err.Error()})
		return fail(err)
	}
	// Init binds the cgroup's directories while it is moved in: into one
	// hierarchy first, the move that may wait for a grace period, then
	// into all.
	if err := enc.Encode(initproc.Message{Type: initproc.MsgCgroupMade}); err != nil {
		return fail(st.initReason(fmt.Errorf("send cgroup made: %w", err)))
	}
	_ = waitEarly() // madeDone's error: nil
	if sp.cgroup != nil {
		if err := sp.cgroup.Add(pid); err != nil {
			_ = enc.Encode(initproc.Message{Type: initproc.MsgError, Error: err.Error()})
			return fail(err)
		}
	}
	if err := enc.Encode(initproc.Message{Type: initproc.MsgCgroupReady}); err != nil {
		return fail(st.initReason(fmt.Errorf("send cgroup ready: %w", err)))
	}
	if pid != proc.pid {
		if err := proc.wait(); err != nil {
			return fail(fmt.Errorf("namespace setup process: %w", err))
		}
	}
	return st, nil
}

// launch starts init: berth-runtime-init in the namespaces its clone
// makes, when it is there and cloneOnly, or `berth-runtime init`. It
// returns the process, the runtime's end of the init socket, and whether
// it started berth-runtime-init (direct).
func (sp *spawn) launch(cloneOnly bool) (_ *child, _ *os.File, direct bool, _ error) {
	openExe := sp.exe
	if openExe == nil {
		openExe = func() (*os.File, *os.File, error) {
			f, err := selfexe.Open()
			return f, nil, err
		}
	}
	exe, initExe, err := openExe()
	if initExe != nil {
		defer initExe.Close()
	}
	if err != nil {
		return nil, nil, false, err
	}
	defer exe.Close()
	args := []string{"berth-runtime", "init"}
	var sys *syscall.SysProcAttr
	if direct = initExe != nil && cloneOnly; direct {
		exe, args = initExe, []string{InitBinary}
		sys = &syscall.SysProcAttr{Cloneflags: sp.boot.Unshare}
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, false, fmt.Errorf("init socketpair: %w", err)
	}
	parent := os.NewFile(uintptr(fds[0]), "init socket")
	child := os.NewFile(uintptr(fds[1]), "init socket (child)")
	// Only init may hold the other end once it runs: should it die before
	// the handshake (a signal to the whole process group), the runtime's
	// read must see end-of-file rather than wait forever, holding the
	// container lock.
	defer child.Close()
	files := []*os.File{sp.stdio[0], sp.stdio[1], sp.stdio[2]}
	for i := 0; i < sp.preserve; i++ {
		files = append(files, os.NewFile(uintptr(3+i), "preserved fd "+strconv.Itoa(3+i)))
	}
	files = append(files, child)
	sockFD := len(files) - 1
	if sp.fifo != nil {
		files = append(files, sp.fifo)
		sp.cfg.FifoFD = len(files) - 1
	}
	if sp.console != nil {
		files = append(files, sp.console)
		sp.cfg.ConsoleFD = len(files) - 1
	}
	// The child resolves the path after it has moved the files to
	// descriptors 3 and up, which may include exe's number: name the
	// handle through this process, which holds it until forkExec returns.
	path := "/proc/" + strconv.Itoa(os.Getpid()) + "/fd/" + strconv.Itoa(int(exe.Fd()))
	// One P from the start: init runs one goroutine, and the Go runtime
	// then starts fewer threads, which execve must end.
	env := []string{nsexec.EnvInitPipe + "=" + strconv.Itoa(sockFD), initproc.EnvProtocol + "=" + initproc.Protocol, "GOMAXPROCS=1"}
	proc, err := forkExec(path, args, env, sp.dir, files, sys)
	if err != nil {
		parent.Close()
		return nil, nil, false, fmt.Errorf("start init: %w", err)
	}
	return proc, parent, direct, nil
}

// cloneOnly reports whether clone(2) alone makes the namespaces of b and
// berth-runtime-init may run in them: none joined, neither a user
// namespace (its id mappings) nor a time namespace (its offsets, and clone
// cannot make one), and a new pid namespace, in which no other process
// sees init during the moment, before its Go code runs, that it is
// still dumpable (nsexec makes it not dumpable before anything else).
func cloneOnly(b nsexec.Bootstrap) bool {
	return len(b.Join) == 0 && b.TimeOffsets == "" && !b.Fork && !b.BecomeRoot &&
		b.Unshare&(unix.CLONE_NEWUSER|unix.CLONE_NEWTIME) == 0 && b.Unshare&unix.CLONE_NEWPID != 0
}

// dedupEnv keeps the last of several settings of one variable, where it
// was first set, as runc does: `exec -e NAME=x` overrides a NAME of the
// config, and a program's getenv, which returns the first, sees x.
func dedupEnv(env []string) []string {
	last := make(map[string]string, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		last[name] = kv
	}
	out := make([]string, 0, len(last))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if v, ok := last[name]; ok {
			out = append(out, v)
			delete(last, name)
		}
	}
	return out
}

// writeIDMaps writes the uid and gid mappings of a new user namespace.
func (sp *spawn) writeIDMaps(pid int) error {
	if sp.linux == nil {
		return errors.New("no id mappings")
	}
	write := func(file string, maps []specs.LinuxIDMapping) error {
		var b strings.Builder
		for _, m := range maps {
			fmt.Fprintf(&b, "%d %d %d\n", m.ContainerID, m.HostID, m.Size)
		}
		path := "/proc/" + strconv.Itoa(pid) + "/" + file
		if err := os.WriteFile(path, []byte(b.String()), 0); err != nil {
			return fmt.Errorf("write %s: %w", file, err)
		}
		return nil
	}
	if err := write("uid_map", sp.linux.UIDMappings); err != nil {
		return fmt.Errorf("linux.uidMappings: %w", err)
	}
	if err := write("gid_map", sp.linux.GIDMappings); err != nil {
		return fmt.Errorf("linux.gidMappings: %w", err)
	}
	return nil
}

// readReply returns init's answer; io.EOF means init closed the socket by
// executing the process.
func (st *started) readReply() (initproc.Message, error) {
	if st.dec == nil {
		st.dec = json.NewDecoder(st.sock)
	}
	var m initproc.Message
	err := st.dec.Decode(&m)
	if err != nil {
		return m, err
	}
	if m.Type == initproc.MsgError {
		return m, errors.New(m.Error)
	}
	return m, nil
}

// initReason turns a failed write to init into init's own error, when it
// sent one before it exited (the usual reason the socket is gone).
func (st *started) initReason(writeErr error) error {
	if m, err := st.readReply(); err != nil && m.Type == initproc.MsgError {
		return err
	}
	return writeErr
}

// kill ends a half-started init and waits for it.
func (st *started) kill() {
	if st.pid != 0 && st.pid != st.proc.pid {
		_ = unix.Kill(st.pid, unix.SIGKILL)
		waitGone(st.pid, killTimeout)
		var ws unix.WaitStatus
		_, _ = unix.Wait4(st.pid, &ws, unix.WNOHANG, nil)
	}
	st.proc.kill()
	if !st.proc.waited {
		_ = st.proc.wait()
	}
	st.sock.Close()
}

// handshakeEOF reports whether err is the init socket closing.
func handshakeEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
