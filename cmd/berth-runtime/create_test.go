package main

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestTakeWaitFD: --wait-fd takes an open descriptor past the standard
// ones and the preserved ones, and keeps it from the container.
func TestTakeWaitFD(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	fd, err := unix.Dup(int(r.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	defer unix.Close(fd)
	for _, bad := range []struct{ fd, preserved int }{{2, 0}, {fd, fd - 2}, {1 << 20, 0}} {
		if err := takeWaitFD(bad.fd, bad.preserved); err == nil {
			t.Errorf("--wait-fd %d with --preserve-fds %d: taken", bad.fd, bad.preserved)
		}
	}
	if err := takeWaitFD(fd, 0); err != nil {
		t.Fatal(err)
	}
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("descriptor flags %#x (%v): close-on-exec not set", flags, err)
	}
}
