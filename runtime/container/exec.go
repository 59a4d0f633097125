package container

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/runtime/console"
	"berth/runtime/initproc"
	"berth/runtime/lsm"
	"berth/runtime/nsexec"
	"berth/runtime/spec"
)

// ExecOptions are the inputs of Exec.
type ExecOptions struct {
	Root, ID string
	Process  *specs.Process
	// ConsoleSocket receives the terminal of a process with Terminal set;
	// without it a foreground exec proxies the terminal to its own stdio.
	ConsoleSocket string
	PidFile       string
	Detach        bool
	PreserveFDs   int
}

// Exec runs another process in a running (or created) container: it joins
// all of the container's namespaces and its cgroup. Detached, it returns
// once the process runs; otherwise it waits and returns the exit code.
func Exec(o ExecOptions) (int, error) {
	st, err := Load(o.Root, o.ID)
	if err != nil {
		return -1, err
	}
	switch st.Status() {
	case specs.StateCreated, specs.StateRunning:
	case StatePaused:
		return -1, fmt.Errorf("cannot exec in container %s: %w (resume it first)", o.ID, ErrPaused)
	default:
		return -1, fmt.Errorf("cannot exec in container %s: %w", o.ID, ErrNotRunning)
	}
	if err := spec.ValidateProcess(o.Process); err != nil {
		return -1, err
	}
	if !o.Process.Terminal && o.ConsoleSocket != "" {
		return -1, errors.New("--console-socket given but the process has no terminal (use --tty)")
	}
	if o.Process.Terminal && o.Detach && o.ConsoleSocket == "" {
		return -1, errors.New("a detached exec with a terminal needs --console-socket")
	}
	var b nsexec.Bootstrap
	for _, t := range spec.NamespaceOrder() {
		if !hasNS(st.Config, t) {
			continue
		}
		b.Join = append(b.Join, "/proc/"+strconv.Itoa(st.Pid)+"/ns/"+cloneFlags[t].file)
		switch t {
		case specs.UserNamespace:
			b.BecomeRoot = true
		case specs.PIDNamespace, specs.TimeNamespace:
			b.Fork = true
		}
	}
	// Joining must not race with the init exiting and its pid being reused.
	if !alive(st.Pid, st.PidStart) {
		return -1, fmt.Errorf("cannot exec in container %s: %w", o.ID, ErrNotRunning)
	}

	var sock, proxySide *os.File
	if o.Process.Terminal {
		if o.ConsoleSocket != "" {
			sock, err = console.Dial(o.ConsoleSocket)
		} else {
			sock, proxySide, err = socketPair()
		}
		if err != nil {
			return -1, err
		}
		defer sock.Close()
		if proxySide != nil {
			defer proxySide.Close()
		}
	}
	if proxySide != nil && o.Process.ConsoleSize == nil {
		// The process has the caller's terminal size from its first
		// instant, not only once the proxy runs (`exec -it c stty size`):
		// stdin's, or stdout's without one (as the proxy takes it).
		ws, err := unix.IoctlGetWinsize(int(os.Stdin.Fd()), unix.TIOCGWINSZ)
		if err != nil {
			ws, err = unix.IoctlGetWinsize(int(os.Stdout.Fd()), unix.TIOCGWINSZ)
		}
		if err == nil && ws.Row > 0 && ws.Col > 0 {
			p := *o.Process
			p.ConsoleSize = &specs.Box{Height: uint(ws.Row), Width: uint(ws.Col)}
			o.Process = &p
		}
	}
	// Exec'd processes are confined by the container's profile too.
	filter, err := seccompFilter(o.Root, st.Config)
	if err != nil {
		return -1, err
	}
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	var relay *signalRelay
	if !o.Detach {
		relay = catchSignals()
		defer relay.stop()
	}
	s := &spawn{
		cfg: initproc.Config{
			Mode: initproc.ModeExec, ID: o.ID, Process: o.Process, Seccomp: filter,
			NoNewKeyring: true,
			LSM:          lsm.Detect(),
		},
		boot:     b,
		dir:      "/",
		cgroup:   st.Cgroup,
		console:  sock,
		preserve: o.PreserveFDs,
		stdio:    stdio([3]*os.File{}),
	}
	if relay != nil {
		relay.wait()
	}
	sp, err := s.start()
	if err != nil {
		return -1, err
	}
	if sock != nil {
		sock.Close()
	}
	if _, err := sp.readReply(); !handshakeEOF(err) {
		sp.kill()
		if err == nil {
			err = errors.New("unexpected message from init")
		}
		return -1, fmt.Errorf("exec in container %s: %w", o.ID, err)
	}
	sp.sock.Close()
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, sp.pid); err != nil {
			return -1, err
		}
	}
	if o.Detach {
		return 0, nil
	}
	return waitForeground(sp.pid, proxySide, relay)
}

// waitForeground waits for pid, relaying signals and, when the process has
// a terminal we hold the other end of, its input and output.
func waitForeground(pid int, proxySide *os.File, relay *signalRelay) (int, error) {
	if proxySide == nil {
		return forwardAndWait(pid, relay), nil
	}
	master, err := console.RecvFD(proxySide)
	if err != nil {
		_ = unix.Kill(pid, unix.SIGKILL)
		forwardAndWait(pid, relay)
		return -1, err
	}
	defer master.Close()
	p := console.StartProxy(master, os.Stdin, os.Stdout)
	code := forwardAndWait(pid, relay)
	<-p.Done
	p.Stop()
	return code, nil
}

func socketPair() (*os.File, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("console socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "console socket"), os.NewFile(uintptr(fds[1]), "console socket"), nil
}

func hasNS(cfg *specs.Spec, t specs.LinuxNamespaceType) bool {
	if cfg == nil || cfg.Linux == nil {
		return false
	}
	for _, n := range cfg.Linux.Namespaces {
		if n.Type == t {
			return true
		}
	}
	return false
}
