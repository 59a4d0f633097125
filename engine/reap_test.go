package engine

import (
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestReap: reap waits (in the poller) while the child runs, returns once
// it has exited, and leaves no zombie.
func TestReap(t *testing.T) {
	pidfd := -1
	pid, err := syscall.ForkExec("/bin/sleep", []string{"sleep", "30"}, &syscall.ProcAttr{
		Sys: &syscall.SysProcAttr{PidFD: &pidfd},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.SetNonblock(pidfd, true); err != nil {
		_ = unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
		_, _ = syscall.Wait4(pid, nil, 0, nil)
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(pidfd), "test pidfd")
	defer f.Close()
	done := make(chan struct{})
	go func() {
		reap(f)
		close(done)
	}()
	defer func() { <-done }()
	select {
	case <-done:
		t.Error("reap returned while the child runs")
	case <-time.After(100 * time.Millisecond):
	}
	if err := unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("reap did not return after the child was killed")
	}
	if _, err := syscall.Wait4(pid, nil, syscall.WNOHANG, nil); !errors.Is(err, syscall.ECHILD) {
		t.Errorf("the child was not reaped: wait4: %v", err)
	}
}
