package container

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// ErrNoGoAhead says a create started ahead of its bundle was called off
// (CreateOptions.GoAhead).
var ErrNoGoAhead = errors.New("no go-ahead: the caller gave up before the bundle was ready")

// waitGoAhead reads the go-ahead byte from f.
func waitGoAhead(f *os.File) error {
	var b [1]byte
	n, err := f.Read(b[:])
	switch {
	case n == 1 && b[0] == 'G':
		return nil
	case n == 1:
		return fmt.Errorf("%w (read %q)", ErrNoGoAhead, b[0])
	case err != nil && !errors.Is(err, io.EOF):
		return fmt.Errorf("wait for the go-ahead: %w", err)
	}
	return ErrNoGoAhead
}

// tellRunning writes 'R' on the go-ahead descriptor f, if it is a
// socket, once the container runs: its caller then need not wait for
// the runtime's exit, a millisecond or more of the start (the process's
// threads and address space torn down). On a pipe it does nothing.
func tellRunning(f *os.File) {
	if _, err := unix.GetsockoptInt(int(f.Fd()), unix.SOL_SOCKET, unix.SO_TYPE); err != nil {
		return
	}
	_, _ = f.Write([]byte{'R'})
}
