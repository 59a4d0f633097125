package main

import (
	"bytes"
	"encoding/binary"
	"io"
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
	// forward, if set, passes the signals this process gets (Ctrl-C,
	// a TERM from a service manager) to the container, as Docker's
	// --sig-proxy; without a terminal only.
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
	if s.tty && term.IsTerminal(int(os.Stdin.Fd())) {
		if st, err := term.MakeRaw(int(os.Stdin.Fd())); err == nil {
			restore = func() { _ = term.Restore(int(os.Stdin.Fd()), st) }
			defer restore()
		}
		s.sendSize()
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, unix.SIGWINCH)
		defer signal.Stop(winch)
		go func() {
			for range winch {
				s.sendSize()
			}
		}()
	}
	res := make(chan result, 2)
	if s.forward != nil && !s.tty {
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
	return r
}

// copyStdin sends stdin to the container; it reports whether the user
// typed the detach keys.
func (s *session) copyStdin() bool {
	buf := make([]byte, 32<<10)
	var held []byte
	for {
		n, err := os.Stdin.Read(buf)
		if n > 0 {
			data := append(held, buf[:n]...)
			held = nil
			if s.tty && len(s.detachKeys) > 0 {
				if i := bytes.Index(data, s.detachKeys); i >= 0 {
					if i > 0 {
						_ = s.send(monitor.FrameStdin, data[:i])
					}
					return true
				}
				// Keep a trailing prefix of the keys for the next read.
				for k := len(s.detachKeys) - 1; k > 0; k-- {
					if bytes.HasSuffix(data, s.detachKeys[:k]) {
						held = append([]byte(nil), data[len(data)-k:]...)
						data = data[:len(data)-k]
						break
					}
				}
			}
			if len(data) > 0 && s.send(monitor.FrameStdin, data) != nil {
				return false
			}
		}
		if err == io.EOF || err != nil {
			_ = s.send(monitor.FrameStdin, nil)
			return false
		}
	}
}

func (s *session) sendSize() {
	ws, err := unix.IoctlGetWinsize(int(os.Stdin.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return
	}
	data := make([]byte, 4)
	binary.BigEndian.PutUint16(data[0:2], ws.Row)
	binary.BigEndian.PutUint16(data[2:4], ws.Col)
	_ = s.send(monitor.FrameResize, data)
}

// parseDetachKeys parses Docker's --detach-keys ("ctrl-p,ctrl-q").
func parseDetachKeys(s string) []byte {
	var out []byte
	for _, k := range bytes.Split([]byte(s), []byte(",")) {
		k = bytes.TrimSpace(k)
		switch {
		case len(k) == 6 && bytes.HasPrefix(k, []byte("ctrl-")):
			c := k[5]
			if c >= 'a' && c <= 'z' {
				out = append(out, c-'a'+1)
			} else if c >= '@' && c <= '_' {
				out = append(out, c-'@')
			}
		case len(k) == 1:
			out = append(out, k[0])
		}
	}
	return out
}
