package initproc

import (
	"fmt"
	"math/bits"
	"os"

	"golang.org/x/sys/unix"
)

// What an early init's descriptor message carries: one byte of these
// bits, with the descriptors named, in this order, as SCM_RIGHTS.
const (
	EarlyFifo byte = 1 << iota
	EarlyConsole
	EarlyRootfsTree
	earlyAll = EarlyFifo | EarlyConsole | EarlyRootfsTree
)

// EarlyFDs are the descriptors an early init receives before its config:
// those a late one inherits (the exec fifo, the console socket), and the
// rootfs's mount tree. Zero means not sent.
type EarlyFDs struct {
	Fifo, Console, RootfsTree int
}

// SendEarly sends an early init its descriptors (nil files are not sent).
func SendEarly(sock *os.File, fifo, console, tree *os.File) error {
	var flags byte
	var fds []int
	for _, f := range []struct {
		bit  byte
		file *os.File
	}{{EarlyFifo, fifo}, {EarlyConsole, console}, {EarlyRootfsTree, tree}} {
		if f.file != nil {
			flags |= f.bit
			fds = append(fds, int(f.file.Fd()))
		}
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	if err := unix.Sendmsg(int(sock.Fd()), []byte{flags}, oob, nil, unix.MSG_NOSIGNAL); err != nil {
		return fmt.Errorf("send init its descriptors: %w", err)
	}
	return nil
}

// RecvEarly reads the descriptor message of SendEarly from the init
// socket, before anything reads the config that follows it. The
// descriptors are close-on-exec: the process gets only those it is given
// by number.
func RecvEarly(sock *os.File) (EarlyFDs, error) {
	var e EarlyFDs
	var b [1]byte
	oob := make([]byte, unix.CmsgSpace(3*4))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), b[:], oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return e, fmt.Errorf("receive descriptors: %w", err)
	}
	var fds []int
	bad := func(why error) (EarlyFDs, error) {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return EarlyFDs{}, fmt.Errorf("receive descriptors: %w", why)
	}
	if oobn > 0 {
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return bad(err)
		}
		for _, m := range msgs {
			got, err := unix.ParseUnixRights(&m)
			if err != nil {
				return bad(err)
			}
			fds = append(fds, got...)
		}
	}
	if n != 1 || b[0]&^earlyAll != 0 || bits.OnesCount8(b[0]) != len(fds) {
		return bad(fmt.Errorf("bad message (%d bytes, flags %#x, %d descriptors)", n, b[0], len(fds)))
	}
	for _, f := range []struct {
		bit byte
		to  *int
	}{{EarlyFifo, &e.Fifo}, {EarlyConsole, &e.Console}, {EarlyRootfsTree, &e.RootfsTree}} {
		if b[0]&f.bit != 0 {
			*f.to, fds = fds[0], fds[1:]
		}
	}
	return e, nil
}

// apply puts the descriptors in the config, in place of the numbers a late
// init inherits.
func (e EarlyFDs) apply(cfg *Config) {
	cfg.FifoFD, cfg.ConsoleFD, cfg.RootfsTree = e.Fifo, e.Console, e.RootfsTree
}
