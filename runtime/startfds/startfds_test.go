package startfds

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestHelperProcess is the child of TestStartFDs: it prints what the
// constructor saw of the command line after "--", and whether descriptor
// 3 is open now.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("STARTFDS_HELPER") == "" {
		t.Skip("run by TestStartFDs")
	}
	wait, wknown := WaitFD(3)
	first, pknown := FirstClosedPreserved(2)
	_, err := unix.FcntlInt(3, unix.F_GETFD, 0)
	fmt.Printf("wait %v %v preserved %d %v open-now %v\n", wait, wknown, first, pknown, err == nil)
	os.Exit(0)
}

// TestStartFDs: the constructor sees the descriptors as the caller left
// them, also when the Go runtime has opened one of its own at the same
// number (its poller, for a non-blocking stdin) by the time Go code runs.
func TestStartFDs(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		extra    int  // descriptors passed from 3
		nonblock bool // a non-blocking stdin: the Go runtime's poller takes 3 and 4
		want     string
	}{
		{"open", []string{"--wait-fd", "3", "--preserve-fds", "2"}, 1, false, "wait true true preserved 4 true"},
		{"closed", []string{"--wait-fd", "3", "--preserve-fds=2"}, 0, false, "wait false true preserved 3 true"},
		// Descriptor 3 is the runtime's own by the time Go code runs.
		{"taken by the runtime", []string{"--wait-fd=3", "--preserve-fds", "2"}, 0, true, "wait false true preserved 3 true open-now true"},
		{"hex", []string{"--wait-fd=0x3", "--preserve-fds", "0x2"}, 2, false, "wait true true preserved 0 true"},
		{"other spellings", []string{"--wait-fd", "0o3", "--preserve-fds", "1_0"}, 2, false, "wait false false preserved -1 false"},
		{"not given", nil, 2, false, "wait false false preserved -1 false"},
		{"no value", []string{"--preserve-fds", "2", "--wait-fd"}, 2, false, "wait false false preserved 0 true"},
		{"no value either", []string{"--wait-fd", "3", "--preserve-fds"}, 2, false, "wait true true preserved -1 false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestHelperProcess$", "--"}, tc.args...)...)
			cmd.Env = append(os.Environ(), "STARTFDS_HELPER=1")
			for i := 0; i < tc.extra; i++ {
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				defer w.Close()
				cmd.ExtraFiles = append(cmd.ExtraFiles, r)
			}
			if tc.nonblock {
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				defer w.Close()
				if err := syscall.SetNonblock(int(r.Fd()), true); err != nil {
					t.Fatal(err)
				}
				cmd.Stdin = r
			}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("helper: %v", err)
			}
			got := strings.TrimSpace(string(out))
			if !strings.Contains(tc.want, "open-now") {
				got, _, _ = strings.Cut(got, " open-now")
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
