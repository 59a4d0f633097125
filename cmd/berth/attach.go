package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"berth/engine/monitor"
)

// session relays a container's attach socket to this process's stdio:
// output to stdout and stderr, stdin (with -i) to the container, and on a
// terminal raw mode, window sizes and the detach keys (Ctrl-P Ctrl-Q).
type session struct {
	conn       net.Conn
	stdin, tty bool
	detachKeys []byte
	// forward, if set, passes the signals this process gets (Ctrl-C
	// without a terminal, a TERM from a service manager, the HUP of a
	// closed terminal) to the container, as Docker's --sig-proxy. With a
	// terminal, Ctrl-C is a key the container's terminal turns into its
	// SIGINT.
	forward func(unix.Signal)
	// mu serialises frames written from the stdin and resize goroutines.
	mu sync.Mutex
}

func (s *session) send(kind byte, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return monitor.WriteFrame(s.conn, kind, data)
}

// result is how a session ended.
type result struct {
	code     int
	exited   bool // the container exited (code is its status)
	detached bool // the user detached
}

// run relays until the container exits, the user detaches, or the
// connection ends.
func (s *session) run() result {
	var restore func()
	// Raw only when the keys go to the container (-i): with -t alone the
	// terminal keeps its Ctrl-C, which is berth's SIGINT to pass on.
	if s.tty && s.stdin && term.IsTerminal(int(os.Stdin.Fd())) {
		if st, err := term.MakeRaw(int(os.Stdin.Fd())); err == nil {
			restore = func() { _ = term.Restore(int(os.Stdin.Fd()), st) }
			defer restore()
		}
	}
	if rows, _ := terminalSize(); s.tty && rows > 0 {
		// Watch before the first size, so a resize between is not lost.
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, unix.SIGWINCH)
		defer signal.Stop(winch)
		s.sendSize()
		go func() {
			for range winch {
				s.sendSize()
			}
		}()
	}
	res := make(chan result, 2)
	if s.forward != nil {
		sigs := make(chan os.Signal, 8)
		signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2)
		defer signal.Stop(sigs)
		go func() {
			for sig := range sigs {
				s.forward(sig.(unix.Signal))
			}
		}()
	}
	if s.stdin {
		go func() {
			if detached := s.copyStdin(); detached {
				res <- result{detached: true}
			}
		}()
	}
	go func() {
		for {
			kind, data, err := monitor.ReadFrame(s.conn)
			if err != nil {
				res <- result{}
				return
			}
			switch kind {
			case monitor.FrameStdout:
				_, _ = os.Stdout.Write(data)
			case monitor.FrameStderr:
				_, _ = os.Stderr.Write(data)
			case monitor.FrameExit:
				if len(data) == 4 {
					res <- result{code: int(int32(binary.BigEndian.Uint32(data))), exited: true}
					return
				}
			}
		}
	}()
	r := <-res
	s.conn.Close()
	if r.detached {
		// Docker's words, on a terminal in its own mode again.
		if restore != nil {
			restore()
		}
		fmt.Fprintln(os.Stdout, "read escape sequence")
	}
	return r
}

// copyStdin sends stdin to the container; it reports whether the user
// typed the detach keys.
func (s *session) copyStdin() bool {
	buf := make([]byte, 32<<10)
	var keys []byte
	if s.tty {
		keys = s.detachKeys
	}
	d := detacher{keys: keys}
	for {
		n, err := os.Stdin.Read(buf)
		if n > 0 {
			data, detached := d.feed(buf[:n])
			if len(data) > 0 && s.send(monitor.FrameStdin, data) != nil {
				return false
			}
			if detached {
				return true
			}
		}
		if err != nil {
			if len(d.held) > 0 {
				_ = s.send(monitor.FrameStdin, d.held)
			}
			_ = s.send(monitor.FrameStdin, nil)
			return false
		}
	}
}

func (s *session) sendSize() {
	rows, cols := terminalSize()
	if rows == 0 {
		return
	}
	data := make([]byte, 4)
	binary.BigEndian.PutUint16(data[0:2], uint16(rows))
	binary.BigEndian.PutUint16(data[2:4], uint16(cols))
	_ = s.send(monitor.FrameResize, data)
}
