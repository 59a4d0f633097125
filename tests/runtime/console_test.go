package runtime_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// consoleSocket listens on a unix socket as containerd's console socket
// does and delivers the terminal master a runtime sends over it.
type consoleSocket struct {
	Path    string
	masters chan *os.File
	errs    chan error
}

func newConsoleSocket(t *testing.T) *consoleSocket {
	t.Helper()
	// sun_path is short: keep the socket out of the long test temp path.
	dir, err := os.MkdirTemp("", "console")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	c := &consoleSocket{Path: filepath.Join(dir, "sock"), masters: make(chan *os.File, 4), errs: make(chan error, 4)}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: c.Path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.AcceptUnix()
			if err != nil {
				return
			}
			m, err := recvMaster(conn)
			conn.Close()
			if err != nil {
				c.errs <- err
				continue
			}
			c.masters <- m
		}
	}()
	return c
}

// recvMaster receives one descriptor with SCM_RIGHTS.
func recvMaster(conn *net.UnixConn) (*os.File, error) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, fmt.Errorf("recvmsg: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, fmt.Errorf("parse control message: %w", err)
	}
	if len(msgs) != 1 {
		return nil, fmt.Errorf("%d control messages, want 1", len(msgs))
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil {
		return nil, fmt.Errorf("parse rights: %w", err)
	}
	if len(fds) != 1 {
		return nil, fmt.Errorf("%d descriptors, want 1", len(fds))
	}
	// Non-blocking, so the file works with read deadlines.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fds[0]), string(buf[:n])), nil
}

// master waits for the terminal the runtime sends.
func (c *consoleSocket) master(t *testing.T) *os.File {
	t.Helper()
	select {
	case m := <-c.masters:
		t.Cleanup(func() { m.Close() })
		return m
	case err := <-c.errs:
		t.Fatalf("console socket: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no terminal came over the console socket")
	}
	return nil
}

// readUntil reads f until the output, with carriage returns dropped,
// matches re, and returns it.
func readUntil(t *testing.T, f *os.File, re *regexp.Regexp) string {
	t.Helper()
	var out strings.Builder
	buf := make([]byte, 4096)
	deadline := time.Now().Add(10 * time.Second)
	for !re.MatchString(out.String()) {
		if err := f.SetReadDeadline(deadline); err != nil {
			t.Fatalf("read deadline: %v", err)
		}
		n, err := f.Read(buf)
		out.WriteString(strings.ReplaceAll(string(buf[:n]), "\r", ""))
		if err != nil {
			t.Fatalf("read terminal: %v; output so far %q, want %s", err, out.String(), re)
		}
	}
	return out.String()
}

// ttyScript prints, between markers the shell computes (so the terminal's
// echo of the command does not match), the terminal, its size and the
// devices of /dev/console and /dev/pts/0.
// execTTYScript is ttyScript for an exec'd process: a container whose init
// has no terminal has no /dev/console.
const execTTYScript = `echo BEGIN$((1+1)); tty; stty size; stat -c '%t:%T' $(tty); echo END$((1+1))` + "\n"

var execTTYOutput = regexp.MustCompile(`BEGIN2\n(.*)\n(\d+) (\d+)\n([0-9a-f]+:[0-9a-f]+)\nEND2\n`)

const ttyScript = `echo BEGIN$((1+1)); tty; stty size; stat -c '%t:%T' /dev/console /dev/pts/0; echo END$((1+1))` + "\n"

var ttyOutput = regexp.MustCompile(`BEGIN2\n(.*)\n(\d+) (\d+)\n([0-9a-f]+:[0-9a-f]+)\n([0-9a-f]+:[0-9a-f]+)\nEND2\n`)

// checkTTY checks what ttyScript printed: the process's terminal is tty
// on a devpts (major 136), bound at /dev/console, of the given size.
func checkTTY(t *testing.T, out, tty string, rows, cols int) {
	t.Helper()
	m := ttyOutput.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("terminal output %q", out)
	}
	if m[1] != tty {
		t.Errorf("tty: %q, want %s", m[1], tty)
	}
	if m[2] != fmt.Sprint(rows) || m[3] != fmt.Sprint(cols) {
		t.Errorf("stty size: %s %s, want %d %d", m[2], m[3], rows, cols)
	}
	if !strings.HasPrefix(m[4], "88:") {
		t.Errorf("/dev/console is %s, want a devpts terminal (136 = 0x88)", m[4])
	}
	if tty == "/dev/pts/0" && m[4] != m[5] {
		t.Errorf("/dev/console is %s, /dev/pts/0 is %s", m[4], m[5])
	}
}

func terminalBundle(t *testing.T, args ...string) *bundle {
	b := newBundle(t, args...)
	b.Spec.Process.Terminal = true
	return b
}

func TestTerminalNeedsConsoleSocket(t *testing.T) {
	e := newEnv(t)
	b := terminalBundle(t, "sh")
	dir := b.save(t)
	id := e.id()
	_, stderr, code := e.run("create", "--bundle", dir, id)
	if code != 1 || !strings.Contains(stderr, "--console-socket") || !strings.Contains(stderr, "process.terminal") {
		t.Errorf("create of a terminal config without --console-socket: code %d, stderr %q", code, stderr)
	}
	e.assertNothingLeft(id, dir)
	// And the other way round.
	c := newConsoleSocket(t)
	nb := newBundle(t, "true")
	dir = nb.save(t)
	_, stderr, code = e.run("create", "--console-socket", c.Path, "--bundle", dir, id)
	if code != 1 || !strings.Contains(stderr, "process.terminal") {
		t.Errorf("create with --console-socket of a config without terminal: code %d, stderr %q", code, stderr)
	}
	e.assertNothingLeft(id, dir)
	// A socket nobody listens on is named.
	dir = b.save(t)
	missing := filepath.Join(t.TempDir(), "nobody")
	_, stderr, code = e.run("create", "--console-socket", missing, "--bundle", dir, id)
	if code != 1 || !strings.Contains(stderr, missing) {
		t.Errorf("create with a missing console socket: code %d, stderr %q", code, stderr)
	}
	e.assertNothingLeft(id, dir)
}

func TestTerminalConsoleSocket(t *testing.T) {
	e := newEnv(t)
	c := newConsoleSocket(t)
	b := terminalBundle(t, "sh")
	b.Spec.Process.ConsoleSize = &specs.Box{Height: 33, Width: 101}
	id := e.create(b, "--console-socket", c.Path)
	master := c.master(t)
	if !strings.Contains(master.Name(), "ptmx") && !strings.Contains(master.Name(), "pts") {
		t.Logf("master sent with name %q", master.Name())
	}
	e.mustRun("start", id)
	if _, err := master.WriteString(ttyScript); err != nil {
		t.Fatal(err)
	}
	checkTTY(t, readUntil(t, master, ttyOutput), "/dev/pts/0", 33, 101)

	// The shell reads its input from the terminal.
	if _, err := master.WriteString("exit 5\n"); err != nil {
		t.Fatal(err)
	}
	e.waitStatus(id, "stopped")
	e.mustRun("delete", id)
	e.assertNothingLeft(id, b.Dir)
}

func TestExecTerminalConsoleSocket(t *testing.T) {
	e := newEnv(t)
	id := e.startContainer(newBundle(t, "sleep", "60"))
	c := newConsoleSocket(t)
	cmd := e.command("exec", "-t", "--console-socket", c.Path, id, "sh")
	out := tempFile(t)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	master := c.master(t)
	if err := unix.IoctlSetWinsize(fdOf(t, master), unix.TIOCSWINSZ, &unix.Winsize{Row: 21, Col: 77}); err != nil {
		t.Fatal(err)
	}
	if _, err := master.WriteString(execTTYScript); err != nil {
		t.Fatal(err)
	}
	got := readUntil(t, master, execTTYOutput)
	m := execTTYOutput.FindStringSubmatch(got)
	if m == nil || !strings.HasPrefix(m[1], "/dev/pts/") || m[2] != "21" || m[3] != "77" || !strings.HasPrefix(m[4], "88:") {
		t.Errorf("exec -t terminal output %q", got)
	}
	if _, err := master.WriteString("exit 6\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err
		if cmd.ProcessState.ExitCode() != 6 {
			t.Errorf("exec -t: %v, want exit 6 (%s)", err, readBack(t, out))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("exec -t did not return after its process exited")
	}
	// -t without a console socket and detached has nowhere to put the
	// terminal.
	if _, stderr, code := e.run("exec", "-t", "-d", id, "sh"); code != 1 || !strings.Contains(stderr, "--console-socket") {
		t.Errorf("exec -t -d without --console-socket: code %d, stderr %q", code, stderr)
	}
}

// fdOf returns f's descriptor without switching it to blocking mode, as
// f.Fd() would.
func fdOf(t *testing.T, f *os.File) int {
	t.Helper()
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd int
	if err := rc.Control(func(p uintptr) { fd = int(p) }); err != nil {
		t.Fatal(err)
	}
	return fd
}

// openPTY opens a pty pair on the host's /dev/pts for the test to play the
// user's terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	fd := fdOf(t, m)
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty slave: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// runOnPTY starts berth-runtime with a fresh pty of the given size as its
// stdio and returns the master and a channel with its exit code.
func (e *env) runOnPTY(rows, cols uint16, args ...string) (*os.File, <-chan int) {
	e.t.Helper()
	master, slave := openPTY(e.t)
	if err := unix.IoctlSetWinsize(fdOf(e.t, master), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		e.t.Fatal(err)
	}
	cmd := e.command(args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	// As from a shell: the pty is the runtime's controlling terminal, so
	// the runtime gets SIGWINCH when it is resized.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	slave.Close()
	codes := make(chan int, 1)
	exited := make(chan struct{})
	go func() {
		err := cmd.Wait()
		var ee interface{ ExitCode() int }
		code := 0
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			code = -1
		}
		codes <- code
		close(exited)
	}()
	e.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	return master, codes
}

// slaveOf opens the slave side of a pty master again.
func slaveOf(t *testing.T, master *os.File) *os.File {
	t.Helper()
	n, err := unix.IoctlGetUint32(fdOf(t, master), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func waitCode(t *testing.T, codes <-chan int, want int) {
	t.Helper()
	select {
	case code := <-codes:
		if code != want {
			t.Errorf("exit code %d, want %d", code, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("runtime did not exit after its process")
	}
}

// TestRunTerminalProxy: a foreground run of a terminal config without a
// console socket carries the terminal through its own stdio.
func TestRunTerminalProxy(t *testing.T) {
	e := newEnv(t)
	b := terminalBundle(t, "sh")
	dir := b.save(t)
	id := e.id()
	master, codes := e.runOnPTY(40, 120, "run", "--bundle", dir, id)
	if _, err := master.WriteString(ttyScript); err != nil {
		t.Fatal(err)
	}
	checkTTY(t, readUntil(t, master, ttyOutput), "/dev/pts/0", 40, 120)
	// A resize of the caller's terminal reaches the container's.
	if err := unix.IoctlSetWinsize(fdOf(t, master), unix.TIOCSWINSZ, &unix.Winsize{Row: 50, Col: 132}); err != nil {
		t.Fatal(err)
	}
	resized := regexp.MustCompile(`SIZE2 50 132\n`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := master.WriteString("echo SIZE$((1+1)) $(stty size)\n"); err != nil {
			t.Fatal(err)
		}
		out := readUntil(t, master, regexp.MustCompile(`SIZE2 \d+ \d+\n`))
		if resized.MatchString(out) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("terminal size did not follow the caller's: %q", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := master.WriteString("exit 3\n"); err != nil {
		t.Fatal(err)
	}
	waitCode(t, codes, 3)
	// The caller's terminal is left as it was found (not raw).
	tio, err := unix.IoctlGetTermios(fdOf(t, slaveOf(t, master)), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if tio.Lflag&(unix.ICANON|unix.ECHO) != unix.ICANON|unix.ECHO {
		t.Errorf("caller's terminal left raw: lflag %#x", tio.Lflag)
	}
	// A foreground run deletes its container.
	e.assertNothingLeft(id, dir)
}

// TestExecTerminalProxy: a foreground exec -t without a console socket
// also carries the terminal through its stdio.
func TestExecTerminalProxy(t *testing.T) {
	e := newEnv(t)
	id := e.startContainer(newBundle(t, "sleep", "60"))
	master, codes := e.runOnPTY(24, 80, "exec", "-t", id, "sh")
	if _, err := master.WriteString(execTTYScript); err != nil {
		t.Fatal(err)
	}
	out := readUntil(t, master, execTTYOutput)
	m := execTTYOutput.FindStringSubmatch(out)
	if m == nil || !strings.HasPrefix(m[1], "/dev/pts/") || m[2] != "24" || m[3] != "80" {
		t.Errorf("exec -t terminal output %q", out)
	}
	if _, err := master.WriteString("exit 4\n"); err != nil {
		t.Fatal(err)
	}
	waitCode(t, codes, 4)
	if e.state(id)["status"] != "running" {
		t.Errorf("container not running after exec -t")
	}
}
