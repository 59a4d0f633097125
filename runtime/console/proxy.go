package console

import (
	"io"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// Proxy connects a terminal master to the caller's stdin and stdout, as a
// foreground `run -t` or `exec -t` does without a console socket: the
// caller's terminal goes raw and its size follows into the container. Done
// is closed when the container side of the terminal is closed; Stop
// restores the caller's terminal.
type Proxy struct {
	Done    <-chan struct{}
	restore func()
}

// StartProxy begins copying. stdin may be any reader; raw mode applies
// only when it is a terminal. The size follows stdin's terminal, or
// stdout's when stdin is not one (`exec -t` without `-i`: no input, but a
// terminal to show the output on).
func StartProxy(master, stdin, stdout *os.File) *Proxy {
	p := &Proxy{restore: func() {}}
	if term.IsTerminal(int(stdin.Fd())) {
		if st, err := term.MakeRaw(int(stdin.Fd())); err == nil {
			p.restore = func() { _ = term.Restore(int(stdin.Fd()), st) }
		}
	}
	sized := stdin
	if !term.IsTerminal(int(sized.Fd())) {
		sized = stdout
	}
	if term.IsTerminal(int(sized.Fd())) {
		resize := func() {
			if ws, err := unix.IoctlGetWinsize(int(sized.Fd()), unix.TIOCGWINSZ); err == nil {
				_ = unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, ws)
			}
		}
		resize()
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, unix.SIGWINCH)
		go func() {
			for range winch {
				resize()
			}
		}()
	}
	go func() { _, _ = io.Copy(master, stdin) }()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(stdout, master)
		close(done)
	}()
	p.Done = done
	return p
}

// Stop restores the caller's terminal.
func (p *Proxy) Stop() { p.restore() }
