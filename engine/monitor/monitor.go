package monitor

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"berth/engine/logs"
)

// StopRequested is the file the engine creates before it stops or kills
// a container on the user's behalf: the policy then does not restart it.
const StopRequested = "stop-requested"

// Main runs the monitor for the container whose directory is dir. sync is
// the engine's end of the start handshake (see Start in the engine):
//
//	monitor -> engine  "C <pid>\n"  created; or "E <message>\n"
//	engine  -> monitor "S\n"        start it (the engine attached first, if it wanted)
//	monitor -> engine  "R <pid>\n"  running; or "E <message>\n"
//
// Then sync is closed and the monitor goes on alone until the container
// ends for good.
func Main(dir string, sync *os.File) error {
	var cfg Config
	if err := ReadJSON(dir, ConfigFile, &cfg); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("become a child subreaper: %w", err)
	}
	m := &monitor{cfg: cfg, dir: dir, hub: newHub(), log: slog.Default()}
	if err := m.writePid(); err != nil {
		return err
	}
	lw, err := logs.NewWriter(filepath.Join(dir, LogFile), logs.Options{MaxSize: cfg.LogMaxSize, MaxFiles: cfg.LogMaxFiles})
	if err != nil {
		return err
	}
	m.logw = lw
	defer lw.Close()
	ln, err := ListenIn(dir, AttachSock)
	if err != nil {
		return fmt.Errorf("attach socket: %w", err)
	}
	defer os.Remove(filepath.Join(dir, AttachSock))
	defer ln.Close()
	go m.serveAttach(ln)

	m.loop(sync)
	m.hub.closeAll()
	if len(cfg.ExitCommand) > 0 {
		cmd := exec.Command(cfg.ExitCommand[0], append(cfg.ExitCommand[1:], cfg.ID)...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
		if err := cmd.Run(); err != nil {
			m.log.Warn("exit command failed", "id", cfg.ID, "error", err)
		}
	}
	return nil
}

// monitor is one container's monitor.
type monitor struct {
	cfg  Config
	dir  string
	hub  *hub
	logw *logs.Writer
	log  *slog.Logger

	// mu guards stdin, the container's current input (a pipe or the pty
	// master), which attach clients write to.
	mu    sync.Mutex
	stdin *os.File
	pty   *os.File
}

func (m *monitor) writePid() error {
	pid := os.Getpid()
	return os.WriteFile(filepath.Join(m.dir, PidFile), []byte(strconv.Itoa(pid)+"\n"), 0o600)
}

// loop creates and runs the container until the restart policy says it
// is done, and returns the last exit code.
func (m *monitor) loop(sync *os.File) int {
	restarts := 0
	backoff := 100 * time.Millisecond
	for {
		_ = os.Remove(filepath.Join(m.dir, InitPidFile))
		started := time.Now()
		pid, outputs, err := m.create()
		if sync != nil {
			if err != nil {
				fmt.Fprintf(sync, "E %s\n", oneLine(err.Error()))
				sync.Close()
				return -1
			}
			fmt.Fprintf(sync, "C %d\n", pid)
			if err := waitForStart(sync); err != nil {
				m.runtime("delete", "--force", m.cfg.ID)
				sync.Close()
				return -1
			}
		}
		if err == nil {
			err = m.runtime("start", m.cfg.ID)
		}
		if err == nil {
			started = time.Now()
			err = WriteJSON(m.dir, RunFile, Run{Pid: pid, StartedAt: started.UTC(), RestartCount: restarts})
		}
		if sync != nil {
			if err != nil {
				fmt.Fprintf(sync, "E %s\n", oneLine(err.Error()))
			} else {
				fmt.Fprintf(sync, "R %d\n", pid)
			}
			sync.Close()
			sync = nil
		}
		var exit Exit
		if err != nil {
			m.runtime("delete", "--force", m.cfg.ID)
			m.release(outputs)
			exit = Exit{ExitCode: 128, FinishedAt: time.Now().UTC(), Error: err.Error()}
		} else {
			exit = m.wait(pid, outputs)
		}
		again := m.shouldRestart(exit, restarts)
		exit.Final = !again
		if err := WriteJSON(m.dir, ExitFile, exit); err != nil {
			m.log.Error("record the exit", "id", m.cfg.ID, "error", err)
		}
		// After the exit is recorded, so that stop and wait return at once.
		m.runtime("delete", "--force", m.cfg.ID)
		code := make([]byte, 4)
		binary.BigEndian.PutUint32(code, uint32(int32(exit.ExitCode)))
		m.hub.send(FrameExit, code)
		if !again {
			return exit.ExitCode
		}
		// Back off (100 ms doubling to a minute), from scratch after a run
		// of ten seconds or more, as Docker.
		if time.Since(started) >= 10*time.Second {
			backoff = 100 * time.Millisecond
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, time.Minute)
		restarts++
		if _, err := os.Stat(filepath.Join(m.dir, StopRequested)); err == nil {
			return exit.ExitCode
		}
	}
}

// release closes what a failed (re)start opened: the output streams and
// the container's stdin.
func (m *monitor) release(outputs []stream) {
	for _, o := range outputs {
		o.f.Close()
	}
	m.mu.Lock()
	if m.stdin != nil {
		m.stdin.Close()
	}
	m.stdin, m.pty = nil, nil
	m.mu.Unlock()
}

// waitForStart waits for the engine's go-ahead.
func waitForStart(sync *os.File) error {
	line, err := bufio.NewReader(sync).ReadString('\n')
	if err != nil {
		return fmt.Errorf("wait for start: %w", err)
	}
	if strings.TrimSpace(line) != "S" {
		return fmt.Errorf("wait for start: unexpected %q", line)
	}
	return nil
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ") }

// shouldRestart applies the restart policy to how the container ended.
func (m *monitor) shouldRestart(e Exit, restarts int) bool {
	if _, err := os.Stat(filepath.Join(m.dir, StopRequested)); err == nil {
		return false
	}
	switch m.cfg.Restart {
	case "always", "unless-stopped":
		return true
	case "on-failure":
		return e.ExitCode != 0 && (m.cfg.MaxRetries == 0 || restarts < m.cfg.MaxRetries)
	}
	return false
}

// runtime runs the OCI runtime with args and returns its error output as
// the error.
func (m *monitor) runtime(args ...string) error {
	cmd := exec.Command(m.cfg.Runtime, append([]string{"--root", m.cfg.RuntimeRoot}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("%s %s: %s", filepath.Base(m.cfg.Runtime), args[0], msg)
	}
	return nil
}

// create runs the runtime's create with the container's stdio and returns
// the container's pid and the streams its output comes from.
func (m *monitor) create() (int, []stream, error) {
	args := []string{"--root", m.cfg.RuntimeRoot, "create", "--bundle", m.dir,
		"--pid-file", filepath.Join(m.dir, InitPidFile)}
	cmd := exec.Command(m.cfg.Runtime, args...)
	var outputs []stream
	var closeAfter []*os.File
	if m.cfg.TTY {
		ln, err := ListenIn(m.dir, ConsoleSock)
		if err != nil {
			return 0, nil, fmt.Errorf("console socket: %w", err)
		}
		defer os.Remove(filepath.Join(m.dir, ConsoleSock))
		defer ln.Close()
		// The runtime connects by a short path too: this process's
		// descriptor of the directory, seen from the runtime.
		dirf, err := os.OpenFile(m.dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return 0, nil, err
		}
		defer dirf.Close()
		sockPath := "/proc/" + strconv.Itoa(os.Getpid()) + "/fd/" + strconv.Itoa(int(dirf.Fd())) + "/" + ConsoleSock
		cmd.Args = append(cmd.Args, "--console-socket", sockPath)
		ptyCh := make(chan *os.File, 1)
		// The deferred ln.Close above also unblocks the receiver should
		// create fail before the runtime connects.
		go func() { ptyCh <- receivePty(ln) }()
		cmd.Args = append(cmd.Args, m.cfg.ID)
		var errb strings.Builder
		cmd.Stderr = &errb
		if err := cmd.Run(); err != nil {
			return 0, nil, fmt.Errorf("%s create: %s", filepath.Base(m.cfg.Runtime), firstNonEmpty(errb.String(), err.Error()))
		}
		pty := <-ptyCh
		if pty == nil {
			return 0, nil, errors.New("the runtime sent no terminal")
		}
		m.mu.Lock()
		m.pty, m.stdin = pty, pty
		m.mu.Unlock()
		outputs = append(outputs, stream{FrameStdout, "stdout", pty})
	} else {
		var err error
		var stdinR *os.File
		if m.cfg.OpenStdin {
			r, w, err := os.Pipe()
			if err != nil {
				return 0, nil, err
			}
			stdinR = r
			closeAfter = append(closeAfter, r)
			m.mu.Lock()
			m.stdin = w
			m.mu.Unlock()
		} else if stdinR, err = os.Open(os.DevNull); err != nil {
			return 0, nil, err
		} else {
			closeAfter = append(closeAfter, stdinR)
		}
		outR, outW, err := os.Pipe()
		if err != nil {
			return 0, nil, err
		}
		errR, errW, err := os.Pipe()
		if err != nil {
			return 0, nil, err
		}
		closeAfter = append(closeAfter, outW, errW)
		cmd.Stdin, cmd.Stdout = stdinR, outW
		// The runtime's own errors go to its stderr before the container
		// exists: collect them through the same pipe, with a marker.
		cmd.Stderr = errW
		cmd.Args = append(cmd.Args, m.cfg.ID)
		outputs = append(outputs, stream{FrameStdout, "stdout", outR}, stream{FrameStderr, "stderr", errR})
		err = cmd.Run()
		for _, f := range closeAfter {
			f.Close()
		}
		if err != nil {
			// The container does not exist: what the runtime wrote is the
			// reason.
			errW.Close()
			msg, _ := io.ReadAll(io.LimitReader(errR, 4096))
			outR.Close()
			errR.Close()
			return 0, nil, fmt.Errorf("%s create: %s", filepath.Base(m.cfg.Runtime), firstNonEmpty(string(msg), err.Error()))
		}
	}
	b, err := os.ReadFile(filepath.Join(m.dir, InitPidFile))
	if err != nil {
		return 0, nil, fmt.Errorf("read the container's pid: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, nil, fmt.Errorf("bad pid file %q", b)
	}
	return pid, outputs, nil
}

func firstNonEmpty(a, b string) string {
	if s := strings.TrimSpace(a); s != "" {
		return s
	}
	return b
}

// stream is one output of the container.
type stream struct {
	kind byte
	name string
	f    *os.File
}

// wait copies the container's output to the log and the attached clients
// until it exits, reaps it (and any other orphan that lands on the
// monitor), and returns how it ended.
func (m *monitor) wait(pid int, outputs []stream) Exit {
	var wg sync.WaitGroup
	for _, s := range outputs {
		wg.Add(1)
		go func(s stream) {
			defer wg.Done()
			m.copyOut(s)
		}(s)
	}
	var ws unix.WaitStatus
	var waitErr error
	for {
		wpid, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			waitErr = err
			break
		}
		if wpid == pid {
			break
		}
	}
	exit := Exit{FinishedAt: time.Now().UTC()}
	switch {
	case waitErr != nil:
		// The container's process was never ours to reap: its status is
		// unknown, which is not success.
		exit.ExitCode, exit.Error = 255, fmt.Sprintf("wait for the container's process: %v", waitErr)
	case ws.Exited():
		exit.ExitCode = ws.ExitStatus()
	case ws.Signaled():
		exit.ExitCode = 128 + int(ws.Signal())
	}
	exit.OOMKilled = m.oomKilled()
	// Processes of the container that outlive its init (without a pid
	// namespace) keep the pipes open: do not wait for them forever.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		for _, s := range outputs {
			s.f.Close()
		}
		<-done
	}
	if m.cfg.TTY {
		m.mu.Lock()
		m.pty, m.stdin = nil, nil
		m.mu.Unlock()
	} else {
		m.mu.Lock()
		if m.stdin != nil {
			m.stdin.Close()
			m.stdin = nil
		}
		m.mu.Unlock()
	}
	_ = m.logw.Flush()
	return exit
}

// oomKilled asks the runtime's state whether the OOM killer struck
// (berth-runtime reports it; other runtimes do not, and this is false).
func (m *monitor) oomKilled() bool {
	out, err := exec.Command(m.cfg.Runtime, "--root", m.cfg.RuntimeRoot, "state", m.cfg.ID).Output()
	if err != nil {
		return false
	}
	var st struct {
		OOMKilled bool `json:"oomKilled"`
	}
	return json.Unmarshal(out, &st) == nil && st.OOMKilled
}

// copyOut copies one output stream to the log and the clients.
func (m *monitor) copyOut(s stream) {
	defer s.f.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := s.f.Read(buf)
		if n > 0 {
			now := time.Now()
			if werr := m.logw.Write(s.name, buf[:n], now); werr != nil {
				m.log.Warn("write the log", "id", m.cfg.ID, "error", werr)
			}
			data := make([]byte, n)
			copy(data, buf[:n])
			m.hub.send(s.kind, data)
		}
		if err != nil {
			return
		}
	}
}

// serveAttach accepts attach clients until the listener closes.
func (m *monitor) serveAttach(ln *net.UnixListener) {
	for {
		conn, err := ln.AcceptUnix()
		if err != nil {
			return
		}
		c := m.hub.add(conn)
		go m.readClient(c)
	}
}

// readClient passes a client's stdin and resizes to the container.
func (m *monitor) readClient(c *client) {
	defer m.hub.remove(c)
	for {
		kind, data, err := ReadFrame(c.conn)
		if err != nil {
			return
		}
		m.mu.Lock()
		in, pty := m.stdin, m.pty
		m.mu.Unlock()
		switch kind {
		case FrameStdin:
			if in == nil {
				continue
			}
			if len(data) == 0 {
				if pty == nil {
					m.mu.Lock()
					if m.stdin != nil {
						m.stdin.Close()
						m.stdin = nil
					}
					m.mu.Unlock()
				}
				continue
			}
			_, _ = in.Write(data)
		case FrameResize:
			if pty != nil && len(data) == 4 {
				ws := &unix.Winsize{Row: binary.BigEndian.Uint16(data[0:2]), Col: binary.BigEndian.Uint16(data[2:4])}
				_ = unix.IoctlSetWinsize(int(pty.Fd()), unix.TIOCSWINSZ, ws)
			}
		}
	}
}

// receivePty accepts the runtime's connection on the console socket and
// returns the pty master it sends (runc's --console-socket protocol).
func receivePty(ln *net.UnixListener) *os.File {
	_ = ln.SetDeadline(time.Now().Add(time.Minute))
	conn, err := ln.AcceptUnix()
	if err != nil {
		return nil
	}
	defer conn.Close()
	buf := make([]byte, 256)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) == 0 {
		return nil
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) == 0 {
		return nil
	}
	return os.NewFile(uintptr(fds[0]), "pty master")
}
