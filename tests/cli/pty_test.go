package cli_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ptyTimeout bounds each wait for expected output: generous, as the
// machine may be loaded.
const ptyTimeout = 30 * time.Second

// terminal is a pseudo-terminal a test types into as a user at a
// terminal: the test holds the master, the command under test gets the
// slave as its stdio and controlling terminal.
type terminal struct {
	t      *testing.T
	master *os.File
	slave  *os.File
	cmd    *exec.Cmd
	done   chan struct{} // closed once cmd has exited
	code   int

	mu     sync.Mutex
	out    bytes.Buffer // everything read from the master
	mark   int          // expect looks at out[mark:]
	change chan struct{}
}

// openPty opens a new pty pair through /dev/ptmx.
func openPty() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("pty number: %w", err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("open pty slave: %w", err)
	}
	return master, slave, nil
}

// startTerminal runs berth with args on a new pty of rows x cols, the
// pty its controlling terminal (so the kernel sends it SIGWINCH).
func (e *env) startTerminal(rows, cols uint16, args ...string) *terminal {
	e.t.Helper()
	master, slave, err := openPty()
	if err != nil {
		e.t.Fatal(err)
	}
	tm := &terminal{t: e.t, master: master, slave: slave, done: make(chan struct{}), change: make(chan struct{})}
	tm.resize(rows, cols)
	tm.cmd = exec.Command(binary, append([]string{"--root", e.root}, e.netArgs(args)...)...)
	tm.cmd.Stdin, tm.cmd.Stdout, tm.cmd.Stderr = slave, slave, slave
	tm.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := tm.cmd.Start(); err != nil {
		master.Close()
		slave.Close()
		e.t.Fatalf("start berth %s: %v", strings.Join(args, " "), err)
	}
	go tm.readLoop()
	go func() {
		err := tm.cmd.Wait()
		tm.code = tm.cmd.ProcessState.ExitCode()
		if err != nil && tm.code < 0 {
			tm.code = -1
		}
		close(tm.done)
	}()
	e.t.Cleanup(func() {
		select {
		case <-tm.done:
		default:
			_ = tm.cmd.Process.Kill()
			<-tm.done
		}
		master.Close()
		slave.Close()
	})
	return tm
}

// readLoop collects what the command writes until the master closes.
func (tm *terminal) readLoop() {
	buf := make([]byte, 4096)
	for {
		n, err := tm.master.Read(buf)
		tm.mu.Lock()
		tm.out.Write(buf[:n])
		close(tm.change)
		tm.change = make(chan struct{})
		tm.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// expect waits until the output after the last match holds re, and
// returns the submatches; the next expect looks after this match.
func (tm *terminal) expect(re string) []string {
	tm.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.NewTimer(ptyTimeout)
	defer deadline.Stop()
	for {
		tm.mu.Lock()
		seen := tm.out.Bytes()[tm.mark:]
		loc := rx.FindSubmatchIndex(seen)
		change := tm.change
		if loc != nil {
			var subs []string
			for i := 0; i+1 < len(loc); i += 2 {
				if loc[i] >= 0 {
					subs = append(subs, string(seen[loc[i]:loc[i+1]]))
				} else {
					subs = append(subs, "")
				}
			}
			tm.mark += loc[1]
			tm.mu.Unlock()
			return subs
		}
		tm.mu.Unlock()
		select {
		case <-change:
		case <-deadline.C:
			tm.t.Fatalf("timed out after %v waiting for %q; output since the last match: %q", ptyTimeout, re, seen)
		}
	}
}

// send types s.
func (tm *terminal) send(s string) {
	tm.t.Helper()
	if _, err := tm.master.Write([]byte(s)); err != nil {
		tm.t.Fatalf("write to the terminal: %v", err)
	}
}

// resize sets the terminal's size, as a terminal emulator whose window
// changed (the kernel signals the foreground process group).
func (tm *terminal) resize(rows, cols uint16) {
	tm.t.Helper()
	if err := unix.IoctlSetWinsize(int(tm.master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		tm.t.Fatalf("TIOCSWINSZ: %v", err)
	}
}

// wait waits for the command to exit and returns its exit status.
func (tm *terminal) wait() int {
	tm.t.Helper()
	select {
	case <-tm.done:
		return tm.code
	case <-time.After(ptyTimeout):
		tm.mu.Lock()
		out := tm.out.String()
		tm.mu.Unlock()
		tm.t.Fatalf("berth did not exit within %v; output %q", ptyTimeout, out)
		return -1
	}
}

// termios reads the terminal's mode on the slave side, as the user's
// shell sees it.
func (tm *terminal) termios() *unix.Termios {
	tm.t.Helper()
	st, err := unix.IoctlGetTermios(int(tm.slave.Fd()), unix.TCGETS)
	if err != nil {
		tm.t.Fatalf("TCGETS: %v", err)
	}
	return st
}

// output is everything the terminal showed.
func (tm *terminal) output() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.out.String()
}
