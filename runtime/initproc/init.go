package initproc

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/runtime/console"
	"berth/runtime/hooks"
	"berth/runtime/rootfs"
	"berth/runtime/spec"
)

// Main is the entry of `berth-runtime init`. It never returns: it either
// executes the user's program or exits with status 1 after reporting the
// error to the runtime. The caller has locked the main goroutine to its
// thread, since credentials and capabilities are set per thread and
// execve keeps the caller's.
func Main() {
	// nsexec has done this already. berth-runtime-init does it here, in a
	// new pid namespace no other process is in yet: from here on no
	// process of the container may ptrace this one or open its /proc
	// files (exe, fd, mem) until it executes the user's program.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "berth-runtime init: prctl(PR_SET_DUMPABLE):", err)
		os.Exit(1)
	}
	sock, err := initSocket()
	if err != nil {
		fmt.Fprintln(os.Stderr, "berth-runtime init:", err)
		os.Exit(1)
	}
	if v := os.Getenv(EnvProtocol); v != Protocol {
		err = fmt.Errorf("the runtime speaks init protocol %q, this init %q: berth-runtime and berth-runtime-init are from different builds", v, Protocol)
	} else {
		os.Unsetenv(EnvProtocol)
		// run returns only on failure: on success the process has
		// become the user's program.
		err = run(sock)
	}
	_ = json.NewEncoder(sock).Encode(Message{Type: MsgError, Error: err.Error()})
	os.Exit(1)
}

func initSocket() (*os.File, error) {
	fd, err := strconv.Atoi(os.Getenv(EnvInitPipe))
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("not started by berth-runtime (%s unset)", EnvInitPipe)
	}
	os.Unsetenv(EnvInitPipe)
	os.Unsetenv("GOMAXPROCS") // set by the runtime for init only
	unix.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), "init socket"), nil
}

func run(sock *os.File) error {
	var early *EarlyFDs
	if os.Getenv(EnvEarly) != "" {
		os.Unsetenv(EnvEarly)
		// An early init waits milliseconds for its config: its decoder's
		// first use of the spec's types (a fresh process builds their
		// decoders then, about half a millisecond here) is made before
		// it comes. Alternate rounds of run -d: 16.84 -> 16.46 ms median.
		spec.Warm()
		e, err := RecvEarly(sock)
		if err != nil {
			return err
		}
		early = &e
	}
	var cfg Config
	dec := json.NewDecoder(sock)
	if err := dec.Decode(&cfg); err != nil {
		return fmt.Errorf("read init config: %w", err)
	}
	if early != nil {
		if cfg.Mode != ModeCreate {
			return fmt.Errorf("an early init got mode %q", cfg.Mode)
		}
		early.apply(&cfg)
		// Where a late init starts: the bundle, which may not have
		// existed when this one did.
		if err := unix.Chdir(cfg.Bundle); err != nil {
			return fmt.Errorf("bundle %s: %w", cfg.Bundle, err)
		}
	}
	cg := &cgroupWait{dec: dec, unshare: cfg.CgroupNS}
	if cfg.Process == nil {
		return fmt.Errorf("init config without a process")
	}
	switch cfg.Mode {
	case ModeCreate:
		return create(sock, &cfg, cg)
	case ModeExec:
		return execIn(&cfg, cg)
	}
	return fmt.Errorf("unknown init mode %q", cfg.Mode)
}

// create sets up a new container, reports ready, waits on the exec fifo
// for start, and runs the process.
func create(sock *os.File, cfg *Config, cg *cgroupWait) error {
	s := cfg.Spec
	if s == nil {
		return fmt.Errorf("create without a spec")
	}
	if cfg.NewNet {
		if err := loopbackUp(); err != nil {
			return err
		}
	}
	var pty *os.File
	rc := rootfs.Config{
		Spec: s, Rootfs: cfg.Rootfs, RootfsTree: cfg.RootfsTree, Bundle: cfg.Bundle, NoPivot: cfg.NoPivot,
		UserNS: cfg.UserNS, CgroupNS: cfg.CgroupNS, CgroupPaths: cfg.CgroupPaths,
		LSM: cfg.LSM, WaitCgroup: cg.wait, WaitCgroupMade: cg.waitMade,
		SharedMountNS: !hasNamespace(s, specs.MountNamespace),
	}
	if needHooksBeforePivot(s.Hooks) {
		rc.BeforePivot = func() error { return beforePivot(sock, cfg, cg) }
	}
	if cfg.Process.Terminal {
		rc.Console = func(root *os.File) (*os.File, error) {
			slave, err := openTerminal(root, cfg)
			pty = slave
			return slave, err
		}
	}
	if err := rootfs.Setup(rc); err != nil {
		return err
	}
	if err := writeSysctls(s.Linux.Sysctl); err != nil {
		return err
	}
	if s.Hostname != "" {
		if err := unix.Sethostname([]byte(s.Hostname)); err != nil {
			return fmt.Errorf("set hostname: %w", err)
		}
	}
	if s.Domainname != "" {
		if err := unix.Setdomainname([]byte(s.Domainname)); err != nil {
			return fmt.Errorf("set domainname: %w", err)
		}
	}
	if err := cg.wait(); err != nil {
		return err
	}
	p, err := prepare(cfg, pty)
	if err != nil {
		return err
	}
	fifo := os.NewFile(uintptr(cfg.FifoFD), "exec fifo")
	if err := json.NewEncoder(sock).Encode(Message{Type: MsgReady}); err != nil {
		return fmt.Errorf("report ready: %w", err)
	}
	// The runtime stops reading the init socket once create has returned:
	// from here on an error is told to `start` through the exec fifo, and
	// on the container's stderr.
	w, err := waitStart(fifo)
	if err != nil {
		fmt.Fprintln(os.Stderr, "berth-runtime init:", err)
		return err
	}
	defer w.Close()
	if err := startContainerHooks(cfg); err != nil {
		tellStart(w, err)
		return err
	}
	// On success execve closes w, and `start` sees the end of the fifo.
	err = p.exec()
	tellStart(w, err)
	return err
}

// waitStart blocks until `start` opens the exec fifo for reading, and
// returns the fifo's write end, open until execve.
func waitStart(fifo *os.File) (*os.File, error) {
	w, err := reopenFifo(fifo)
	if err != nil {
		return nil, fmt.Errorf("open exec fifo: %w", err)
	}
	if _, err := w.Write([]byte{0}); err != nil {
		w.Close()
		return nil, fmt.Errorf("write exec fifo: %w", err)
	}
	return w, nil
}

// tellStart reports err to `start` through the exec fifo, and on the
// container's stderr.
func tellStart(w *os.File, err error) {
	fmt.Fprintln(os.Stderr, "berth-runtime init:", err)
	_, _ = w.Write([]byte(err.Error()))
}

// needHooksBeforePivot reports whether h has hooks that run before
// pivot_root.
func needHooksBeforePivot(h *specs.Hooks) bool {
	return len(hooks.List(h, hooks.Prestart)) > 0 || len(hooks.List(h, hooks.CreateRuntime)) > 0 ||
		len(hooks.List(h, hooks.CreateContainer)) > 0
}

// beforePivot runs, with the container's mounts in place and before
// pivot_root, the hooks of that point: the runtime runs prestart and
// createRuntime in its namespaces while init waits for its answer, then
// init runs createContainer in the container's namespaces. The paths of
// createContainer hooks still resolve in the runtime's filesystem (the old
// root), and they run in the rootfs, as with runc.
func beforePivot(sock *os.File, cfg *Config, cg *cgroupWait) error {
	// The runtime sent cgroup-ready before it reads init's messages, and
	// hooks see init in the container's cgroup.
	if err := cg.wait(); err != nil {
		return err
	}
	h := cfg.Spec.Hooks
	if len(hooks.List(h, hooks.Prestart)) > 0 || len(hooks.List(h, hooks.CreateRuntime)) > 0 {
		if err := json.NewEncoder(sock).Encode(Message{Type: MsgRunHooks}); err != nil {
			return fmt.Errorf("ask the runtime to run hooks: %w", err)
		}
		var m Message
		if err := cg.dec.Decode(&m); err != nil {
			return fmt.Errorf("wait for the runtime's hooks: %w", err)
		}
		if m.Type != MsgHooksDone {
			return fmt.Errorf("runtime hooks failed: %s", m.Error)
		}
	}
	if list := hooks.List(h, hooks.CreateContainer); len(list) > 0 {
		// The hooks need neither the exec fifo nor the console socket
		// (init uses them by number, not by inheritance).
		for _, fd := range []int{cfg.FifoFD, cfg.ConsoleFD} {
			if fd > 0 {
				unix.CloseOnExec(fd)
			}
		}
		if err := unix.Chdir(cfg.Rootfs); err != nil {
			return fmt.Errorf("chdir to rootfs for createContainer hooks: %w", err)
		}
		if err := hooks.RunAll(context.Background(), hooks.CreateContainer, list, cfg.State); err != nil {
			return err
		}
	}
	return nil
}

// startContainerHooks runs the startContainer hooks in the container, once
// start has released init and before the user's program, with the
// state's status created.
func startContainerHooks(cfg *Config) error {
	list := hooks.List(cfg.Spec.Hooks, hooks.StartContainer)
	if len(list) == 0 {
		return nil
	}
	state, err := withStatus(cfg.State, specs.StateCreated)
	if err != nil {
		return err
	}
	return hooks.RunAll(context.Background(), hooks.StartContainer, list, state)
}

// withStatus returns the state JSON with its status replaced.
func withStatus(state json.RawMessage, status specs.ContainerState) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(state, &m); err != nil {
		return nil, fmt.Errorf("decode container state for hooks: %w", err)
	}
	b, err := json.Marshal(status)
	if err != nil {
		return nil, fmt.Errorf("encode container state for hooks: %w", err)
	}
	m["status"] = b
	out, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode container state for hooks: %w", err)
	}
	return out, nil
}

// execIn runs a process in a running container; nsexec has already joined
// its namespaces. The runtime learns of success when the init socket
// closes on execve.
func execIn(cfg *Config, cg *cgroupWait) error {
	var pty *os.File
	if cfg.Process.Terminal {
		root, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open /: %w", err)
		}
		pty, err = openTerminal(root, cfg)
		root.Close()
		if err != nil {
			return err
		}
	}
	p, err := prepare(cfg, pty)
	if err != nil {
		return err
	}
	if err := cg.wait(); err != nil {
		return err
	}
	return p.exec()
}

// openTerminal creates the process's pty and sends its master over the
// console socket.
func openTerminal(root *os.File, cfg *Config) (*os.File, error) {
	if cfg.ConsoleFD == 0 {
		return nil, fmt.Errorf("process.terminal is set but no console socket was given")
	}
	sock := os.NewFile(uintptr(cfg.ConsoleFD), "console socket")
	defer sock.Close()
	master, slave, err := console.OpenPTY(root)
	if err != nil {
		return nil, err
	}
	defer master.Close()
	if cs := cfg.Process.ConsoleSize; cs != nil {
		if err := console.SetSize(master, cs.Height, cs.Width); err != nil {
			slave.Close()
			return nil, err
		}
	}
	if err := console.SendFD(sock, master); err != nil {
		slave.Close()
		return nil, err
	}
	return slave, nil
}

// cgroupWait waits, once, for the runtime to have made the container's
// cgroup (waitMade), and, once, for it to have placed this process in it
// (wait), then creates the cgroup namespace if asked (it is rooted at the
// cgroup its creator is in). The namespace belongs to the calling thread,
// which is the one that executes the process.
type cgroupWait struct {
	dec     *json.Decoder
	unshare bool
	made    bool
	done    bool
}

func (c *cgroupWait) waitMade() error {
	if c.made {
		return nil
	}
	c.made = true
	return c.expect(MsgCgroupMade)
}

func (c *cgroupWait) wait() error {
	if c.done {
		return nil
	}
	if err := c.waitMade(); err != nil {
		return err
	}
	c.done = true
	if err := c.expect(MsgCgroupReady); err != nil {
		return err
	}
	if c.unshare {
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return fmt.Errorf("create cgroup namespace: %w", err)
		}
	}
	return nil
}

// expect reads the runtime's next message, which must be of type t.
func (c *cgroupWait) expect(t string) error {
	var m Message
	if err := c.dec.Decode(&m); err != nil {
		return fmt.Errorf("wait for cgroup: %w", err)
	}
	if m.Type != t {
		if m.Error == "" {
			return fmt.Errorf("runtime sent %q, want %q", m.Type, t)
		}
		return fmt.Errorf("runtime failed to set up the cgroup: %s", m.Error)
	}
	return nil
}

// reopenFifo opens the exec fifo, held as an O_PATH descriptor, for
// writing; the open blocks until `start` opens it for reading. The
// container's seccomp profile may already apply (without noNewPrivileges
// it is loaded before the capabilities are dropped) and allow no more than
// a plain open, so the first try is the container's /proc/self/fd, as runc
// does; the file opened must be the fifo itself (same device and inode),
// so an overmounted /proc cannot redirect the write. pathrs-lite's checked
// procfs lookup is the fallback where /proc is not mounted.
func reopenFifo(fifo *os.File) (*os.File, error) {
	var want unix.Stat_t
	if err := unix.Fstat(int(fifo.Fd()), &want); err != nil {
		return nil, err
	}
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(int(fifo.Fd())), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return pathrs.Reopen(fifo, unix.O_WRONLY|unix.O_CLOEXEC)
	}
	w := os.NewFile(uintptr(fd), fifo.Name())
	var got unix.Stat_t
	if err := unix.Fstat(fd, &got); err != nil || got.Dev != want.Dev || got.Ino != want.Ino {
		w.Close()
		return nil, fmt.Errorf("/proc/self/fd/%d is not the exec fifo", fifo.Fd())
	}
	return w, nil
}

// hasNamespace tells whether the container has a namespace of type t, new
// or joined.
func hasNamespace(s *specs.Spec, t specs.LinuxNamespaceType) bool {
	for _, n := range s.Linux.Namespaces {
		if n.Type == t {
			return true
		}
	}
	return false
}
