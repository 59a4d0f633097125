package container

import (
	"errors"
	"io"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestWaitGoAhead: 'G' lets create go on; end of file or another byte
// is ErrNoGoAhead.
func TestWaitGoAhead(t *testing.T) {
	for _, tc := range []struct {
		send string
		want error
	}{
		{"G", nil},
		{"Go", nil},
		{"", ErrNoGoAhead},
		{"X", ErrNoGoAhead},
	} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		w.WriteString(tc.send)
		w.Close()
		if err := waitGoAhead(r); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("send %q: %v, want %v", tc.send, err, tc.want)
		}
		// Create or Run closes it (Run may answer on it first).
		if err := r.Close(); err != nil {
			t.Errorf("send %q: the descriptor was closed: %v", tc.send, err)
		}
	}
}

// TestTellRunning: 'R' goes out on a socket; on a pipe (what an older
// monitor passes) nothing is written.
func TestTellRunning(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b := os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
	defer a.Close()
	tellRunning(b)
	b.Close()
	if got, err := io.ReadAll(a); string(got) != "R" || err != nil {
		t.Errorf("socket: read %q, %v; want R", got, err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tellRunning(w)
	w.Close()
	if got, err := io.ReadAll(r); len(got) != 0 || err != nil {
		t.Errorf("pipe: read %q, %v; want nothing", got, err)
	}
}
