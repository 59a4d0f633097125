package earlyinit

import (
	"strings"
	"testing"
)

// TestWants checks which command lines the constructor starts an init
// for: run and create with --early-init, after any global flags, without
// --preserve-fds.
func TestWants(t *testing.T) {
	for line, want := range map[string]bool{
		"berth-runtime run --early-init c1":                                    true,
		"berth-runtime --root /run/x run -d --wait-fd 3 --early-init -b /b c1": true,
		"berth-runtime --root=/run/x create --bundle=/b --early-init=true c1":  true,
		"berth-runtime --log /l create --bundle /b --early-init c1":            true,
		"berth-runtime run --bundle /b c1":                                     false,
		"berth-runtime run --bundle --early-init c1":                           false, // the bundle's name
		"berth-runtime run --early-init --preserve-fds 1 c1":                   false,
		"berth-runtime run --early-init --preserve-fds=1 c1":                   false,
		"berth-runtime --root run start --early-init c1":                       false, // "run" is --root's value
		"berth-runtime exec --early-init c1":                                   false,
		"berth-runtime init":                                                   false,
		"berth-runtime -- run --early-init":                                    false,
		"berth-runtime run -- --early-init":                                    false,
		"berth-runtime":                                                        false,
	} {
		if got := wants(strings.Fields(line)); got != want {
			t.Errorf("%q: starts %v, want %v", line, got, want)
		}
	}
}

// TestTakeNone: in a process started without --early-init there is
// nothing to take.
func TestTakeNone(t *testing.T) {
	if pid, sock, ok := Take(); ok {
		sock.Close()
		t.Fatalf("took an early init %d in a test process", pid)
	}
}
