package container

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrNoGoAhead says a create started ahead of its bundle was called off
// (CreateOptions.GoAhead).
var ErrNoGoAhead = errors.New("no go-ahead: the caller gave up before the bundle was ready")

// waitGoAhead reads the go-ahead byte from f and closes f.
func waitGoAhead(f *os.File) error {
	defer f.Close()
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
