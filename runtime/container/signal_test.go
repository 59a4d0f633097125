package container

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseSignal(t *testing.T) {
	tests := []struct {
		in   string
		want unix.Signal
	}{
		{"9", unix.SIGKILL},
		{"+9", unix.SIGKILL},
		{"09", unix.SIGKILL},
		{"1", unix.SIGHUP},
		{"64", unix.Signal(64)},
		{"KILL", unix.SIGKILL},
		{"SIGKILL", unix.SIGKILL},
		{"sigkill", unix.SIGKILL},
		{"kill", unix.SIGKILL},
		{"SigTerm", unix.SIGTERM},
		{"TERM", unix.SIGTERM},
		{"HUP", unix.SIGHUP},
		{"SIGUSR1", unix.SIGUSR1},
		{"usr2", unix.SIGUSR2},
		{"WINCH", unix.SIGWINCH},
		{"CHLD", unix.SIGCHLD},
		{"STOP", unix.SIGSTOP},
		{"CONT", unix.SIGCONT},
	}
	for _, tc := range tests {
		got, err := ParseSignal(tc.in)
		if err != nil {
			t.Errorf("ParseSignal(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseSignal(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestParseSignalErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "unknown signal"},
		{"0", "invalid signal number 0"},
		{"-9", "invalid signal number -9"},
		{"65", "invalid signal number 65"},
		{"99999999999999999999", "unknown signal"},
		{"2147483648", "invalid signal number"},
		{"4294967305", "invalid signal number"}, // 2^32 + 9 must not wrap to SIGKILL
		{"SIG", "unknown signal"},
		{"SIGSIGKILL", "unknown signal"},
		{"BOGUS", `unknown signal "BOGUS"`},
		{"KILL ", "unknown signal"},
		{" 9", "unknown signal"},
		{"9.0", "unknown signal"},
		{"0x9", "unknown signal"},
		{"KILL\x00", "unknown signal"},
		{"SIGKILL;rm", "unknown signal"},
	}
	for _, tc := range tests {
		got, err := ParseSignal(tc.in)
		if err == nil {
			t.Errorf("ParseSignal(%q) = %d, want an error", tc.in, got)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSignal(%q): %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

// FuzzParseSignal: ParseSignal never panics and returns only real signal
// numbers (1 to 64).
func FuzzParseSignal(f *testing.F) {
	for _, s := range []string{"9", "KILL", "SIGKILL", "sigterm", "0", "-1", "65", "", "SIG", "4294967305", "ſigkill", "RTMIN+1", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := ParseSignal(s)
		if err != nil {
			if sig != 0 {
				t.Fatalf("ParseSignal(%q) = %d with error %v", s, sig, err)
			}
			return
		}
		if sig < 1 || sig > 64 {
			t.Fatalf("ParseSignal(%q) = %d, not a signal", s, sig)
		}
	})
}
