package cli_test

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// prompt is busybox sh's prompt for root in /.
const prompt = `/ # `

// number asks the shell for 6*7: the answer is not in what the terminal
// echoes, so seeing it means the shell ran the command.
func (tm *terminal) number() {
	tm.t.Helper()
	tm.send("echo $((6*7))\r")
	tm.expect(`\r\n42\r\n`)
}

// size asks the terminal inside for its size.
func (tm *terminal) size() string {
	tm.t.Helper()
	tm.send("stty size\r")
	return tm.expect(`\r\n(\d+ \d+)\r\n`)[1]
}

// cooked says whether the terminal is in the mode a shell leaves it in
// (line editing and echo), as berth must leave it.
func cooked(st *unix.Termios) bool {
	return st.Lflag&unix.ICANON != 0 && st.Lflag&unix.ECHO != 0
}

// running reports whether berth ps lists the container as Up.
func (e *env) running(name string) bool {
	e.t.Helper()
	for _, line := range strings.Split(e.must("ps", "--format", "{{.Names}} {{.Status}}"), "\n") {
		if strings.HasPrefix(line, name+" Up") {
			return true
		}
	}
	return false
}

// waitProcess waits until a process with command line cmdline runs in
// the container.
func (e *env) waitProcess(name, cmdline string) {
	e.t.Helper()
	waitFor(e.t, func() bool {
		out, _, _ := e.run(nil, "top", name)
		for _, line := range strings.Split(out, "\n") {
			if strings.HasSuffix(strings.TrimSpace(line), " "+cmdline) {
				return true
			}
		}
		return false
	}, cmdline+" running in "+name)
}

// TestRunInteractiveTerminal: run -it from a terminal behaves as
// Docker's: a shell on a pty of the terminal's size that follows its
// resizes, Ctrl-C for the container, the detach keys, attach, and the
// terminal's mode restored.
func TestRunInteractiveTerminal(t *testing.T) {
	e := newEnv(t).withBusybox()
	tm := e.startTerminal(30, 100, "run", "-it", "--name", "t1", "busybox", "sh")
	if !cooked(tm.termios()) {
		t.Fatal("the new pty is not in cooked mode")
	}
	checkShell(t, e, tm, "t1")

	// A lone Ctrl-P followed by another key goes to the container.
	tm.send("od -An -tx1\r")
	e.waitProcess("t1", "od -An -tx1")
	tm.send("\x10a\r\x04")
	tm.expect(`10 61 0a`)
	tm.expect(prompt)

	// Ctrl-P Ctrl-Q detaches: Docker's message, exit 0, the container
	// runs on, the terminal is back in its mode.
	tm.send("\x10\x11")
	tm.expect(`read escape sequence`)
	if code := tm.wait(); code != 0 {
		t.Errorf("detach: exit %d, want 0", code)
	}
	if !cooked(tm.termios()) {
		t.Error("berth left the terminal raw after detaching")
	}
	if !e.running("t1") {
		t.Fatalf("t1 is not Up after detaching: %s", e.must("ps", "-a"))
	}

	// attach through a new terminal, whose size the container takes;
	// --detach-keys on attach.
	at := e.startTerminal(25, 90, "attach", "--detach-keys", "ctrl-x,y", "t1")
	at.number()
	if got := at.size(); got != "25 90" {
		t.Errorf("after attach: stty size %q, want 25 90", got)
	}
	// Ctrl-P Ctrl-Q are just keys now (busybox's line editing would take
	// Ctrl-P for its history: od shows them; -ixon keeps Ctrl-Q a key).
	at.send("stty -ixon; od -An -tx1\r")
	e.waitProcess("t1", "od -An -tx1")
	at.send("\x10\x11\r\x04")
	at.expect(`10 11 0a`)
	at.expect(prompt)
	at.send("\x18y")
	at.expect(`read escape sequence`)
	if code := at.wait(); code != 0 {
		t.Errorf("attach detach: exit %d, want 0", code)
	}
	if !e.running("t1") {
		t.Fatalf("t1 is not Up after detaching attach: %s", e.must("ps", "-a"))
	}

	// exit ends attach with the shell's status.
	at = e.startTerminal(25, 90, "attach", "t1")
	at.number()
	at.send("exit 3\r")
	if code := at.wait(); code != 3 {
		t.Errorf("attach, exit 3: berth exit %d", code)
	}
	if !cooked(at.termios()) {
		t.Error("attach left the terminal raw")
	}
}

// TestRunTerminalExit: exit in run -it's shell ends berth with its status
// and restores the terminal; --detach-keys on run.
func TestRunTerminalExit(t *testing.T) {
	e := newEnv(t).withBusybox()
	tm := e.startTerminal(24, 80, "run", "-it", "--detach-keys", "ctrl-x,y", "--name", "t2", "busybox", "sh")
	tm.expect(prompt)
	tm.send("stty -ixon; od -An -tx1\r")
	e.waitProcess("t2", "od -An -tx1")
	tm.send("\x10\x11\r\x04")
	tm.expect(`10 11 0a`)
	tm.expect(prompt)
	tm.send("\x18y")
	tm.expect(`read escape sequence`)
	if code := tm.wait(); code != 0 {
		t.Errorf("detach: exit %d, want 0", code)
	}
	at := e.startTerminal(24, 80, "attach", "t2")
	at.number()
	at.send("exit 3\r")
	if code := at.wait(); code != 3 {
		t.Errorf("attach, exit 3: berth exit %d", code)
	}

	// A --rm container the user detached from runs on, and goes once
	// it exits.
	tm = e.startTerminal(24, 80, "run", "-it", "--rm", "--name", "t3", "busybox", "sh")
	tm.expect(prompt)
	tm.send("\x10\x11")
	tm.expect(`read escape sequence`)
	if code := tm.wait(); code != 0 {
		t.Errorf("detach --rm: exit %d, want 0", code)
	}
	if !e.running("t3") {
		t.Fatalf("t3 (--rm) is not Up after detaching: %s", e.must("ps", "-a"))
	}
	at = e.startTerminal(24, 80, "attach", "t3")
	at.number()
	at.send("exit 2\r")
	if code := at.wait(); code != 2 {
		t.Errorf("attach t3, exit 2: berth exit %d", code)
	}
	waitFor(t, func() bool { return !strings.Contains(e.must("ps", "-a"), "t3") }, "t3 (--rm) removed")

	tm = e.startTerminal(24, 80, "run", "-it", "--rm", "busybox", "sh")
	tm.expect(prompt)
	tm.number()
	tm.send("exit 3\r")
	if code := tm.wait(); code != 3 {
		t.Errorf("run -it, exit 3: berth exit %d, output %q", code, tm.output())
	}
	if !cooked(tm.termios()) {
		t.Error("berth left the terminal raw")
	}

	// create -it then start -ai: the same terminal session.
	e.must("create", "-it", "--name", "t5", "busybox", "sh")
	tm = e.startTerminal(27, 91, "start", "-ai", "t5")
	tm.number()
	if got := tm.size(); got != "27 91" {
		t.Errorf("start -ai: stty size %q, want 27 91", got)
	}
	tm.send("exit 5\r")
	if code := tm.wait(); code != 5 {
		t.Errorf("start -ai, exit 5: berth exit %d", code)
	}
	if !cooked(tm.termios()) {
		t.Error("start -ai left the terminal raw")
	}

	// Bad detach keys: an error before any container is made.
	before := e.must("ps", "-aq")
	tm = e.startTerminal(24, 80, "run", "-it", "--rm", "--detach-keys", "ctrl-p,bogus", "busybox", "sh")
	tm.expect(`invalid detach keys`)
	if code := tm.wait(); code != 125 {
		t.Errorf("bad detach keys: exit %d, want 125", code)
	}
	if out := e.must("ps", "-aq"); out != before {
		t.Errorf("bad detach keys left containers: %s", out)
	}
}

// TestRunTerminalSignals: signals berth gets go to the container with a
// terminal too (Docker's --sig-proxy), and berth ends with its status.
func TestRunTerminalSignals(t *testing.T) {
	e := newEnv(t).withBusybox()
	tm := e.startTerminal(24, 80, "run", "-it", "--rm", "busybox", "sh", "-c",
		`trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 1; done`)
	tm.expect(`ready`)
	if err := tm.cmd.Process.Signal(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	tm.expect(`got-term`)
	if code := tm.wait(); code != 7 {
		t.Errorf("SIGTERM to berth: exit %d, want the container's 7", code)
	}
	if !cooked(tm.termios()) {
		t.Error("berth left the terminal raw")
	}
}

// TestRunTTYWithoutStdin: -t alone on a terminal gives the container a
// terminal; -it without a terminal is Docker's error.
func TestRunTTYWithoutStdin(t *testing.T) {
	e := newEnv(t).withBusybox()
	tm := e.startTerminal(24, 80, "run", "-t", "--rm", "busybox", "sh", "-c", "ls /; tty")
	tm.expect(`bin`)
	tm.expect(`/dev/pts/\d+`)
	if code := tm.wait(); code != 0 {
		t.Errorf("run -t ls: exit %d, output %q", code, tm.output())
	}
	if !cooked(tm.termios()) {
		t.Error("run -t left the terminal raw")
	}
	// Without -i the terminal stays cooked, so Ctrl-C is berth's SIGINT,
	// which it passes on (Docker's --sig-proxy).
	tm = e.startTerminal(24, 80, "run", "-t", "--rm", "busybox", "sh", "-c",
		`trap "echo got-int; exit 9" INT; echo ready; while :; do sleep 1; done`)
	tm.expect(`ready`)
	if !cooked(tm.termios()) {
		t.Error("run -t without -i made the terminal raw")
	}
	tm.send("\x03")
	tm.expect(`got-int`)
	if code := tm.wait(); code != 9 {
		t.Errorf("run -t, Ctrl-C: exit %d, want 9", code)
	}

	// The container's terminal has the size from its first instant, as
	// Docker's (which sets it at create).
	for _, args := range [][]string{{"run", "-it", "--rm", "busybox", "stty", "size"}, {"run", "-t", "--rm", "busybox", "stty", "size"}} {
		tm = e.startTerminal(33, 111, args...)
		tm.expect(`33 111`)
		if code := tm.wait(); code != 0 {
			t.Errorf("%v: exit %d, output %q", args, code, tm.output())
		}
	}
	e.fails(1, "the input device is not a TTY", "run", "-it", "--rm", "busybox", "true")
	if out := e.must("ps", "-aq"); out != "" {
		t.Errorf("the failed run left containers: %s", out)
	}
	e.must("run", "-d", "--name", "x2", "busybox", "sleep", "1000")
	e.fails(1, "the input device is not a TTY", "exec", "-it", "x2", "true")
}

// TestExecInteractiveTerminal: exec -it from a terminal: a shell on a pty
// of the terminal's size that follows resizes, and its exit status.
func TestExecInteractiveTerminal(t *testing.T) {
	e := newEnv(t).withBusybox()
	e.must("run", "-d", "--name", "x1", "busybox", "sleep", "1000")
	// The terminal has the size from the process's first instant.
	for _, args := range [][]string{{"exec", "-it", "x1", "stty", "size"}, {"exec", "-t", "x1", "stty", "size"}} {
		tm := e.startTerminal(33, 111, args...)
		tm.expect(`33 111`)
		if code := tm.wait(); code != 0 {
			t.Errorf("%v: exit %d, output %q", args, code, tm.output())
		}
	}
	// Without -i, what is typed does not reach the process (as Docker).
	tm := e.startTerminal(24, 80, "exec", "-t", "x1", "sh", "-c", "echo ready; if read -t 2 x; then echo got:$x; else echo no-input; fi")
	tm.expect(`ready`)
	tm.send("typed\r")
	tm.expect(`no-input`)
	if code := tm.wait(); code != 0 || strings.Contains(tm.output(), "got:") {
		t.Errorf("exec -t without -i: exit %d, output %q", code, tm.output())
	}
	tm = e.startTerminal(30, 100, "exec", "-it", "x1", "sh")
	checkShell(t, e, tm, "x1")
	tm.send("exit 4\r")
	if code := tm.wait(); code != 4 {
		t.Errorf("exec, exit 4: berth exit %d", code)
	}
	if !cooked(tm.termios()) {
		t.Error("exec left the terminal raw")
	}
	if !e.running("x1") {
		t.Error("x1 stopped")
	}

	// A signal to berth reaches the exec'd process, and berth ends with
	// its status, the terminal restored.
	tm = e.startTerminal(24, 80, "exec", "-it", "x1", "sh", "-c",
		`trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 1; done`)
	tm.expect(`ready`)
	if err := tm.cmd.Process.Signal(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	tm.expect(`got-term`)
	if code := tm.wait(); code != 7 {
		t.Errorf("SIGTERM to berth exec: exit %d, want the process's 7", code)
	}
	if !cooked(tm.termios()) {
		t.Error("exec left the terminal raw after a signal")
	}
}

// checkShell checks a shell that container name runs on tm, a 30x100
// terminal: a pty of the terminal's size that follows its resizes (the
// kernel signals berth, the pty's foreground process group; the size
// reaches the container a moment later), and Ctrl-C interrupting the
// container's foreground process, not berth.
func checkShell(t *testing.T, e *env, tm *terminal, name string) {
	t.Helper()
	tm.expect(prompt)
	tm.number()
	tm.send("tty\r")
	tm.expect(`\r\n/dev/pts/\d+\r\n`)
	if got := tm.size(); got != "30 100" {
		t.Errorf("stty size %q, want the terminal's 30 100", got)
	}
	tm.resize(40, 120)
	waitFor(t, func() bool { return tm.size() == "40 120" }, "the new size inside")
	tm.send("sleep 100\r")
	e.waitProcess(name, "sleep 100")
	tm.send("\x03")
	tm.expect(prompt)
	tm.number()
}
