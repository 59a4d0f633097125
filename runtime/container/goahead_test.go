package container

import (
	"errors"
	"os"
	"testing"
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
		if err := r.Close(); err == nil {
			t.Errorf("send %q: the descriptor was left open", tc.send)
		}
	}
}
