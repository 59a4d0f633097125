package runtime_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestWaitFD: run --detach --wait-fd N starts before its bundle exists,
// reads the bundle only once 'G' comes on descriptor N, and, called off
// (end of file) or given anything else, makes nothing. On a socket it
// answers 'R' once the container runs.
func TestWaitFD(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, send, want string
	}{
		{"called off", "", "no go-ahead"},
		{"not G", "X", "no go-ahead"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir() // no config.json: it is never read
			id := e.id()
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd := e.command("run", "--detach", "--wait-fd", "3", "--bundle", dir, id)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			cmd.ExtraFiles = []*os.File{r}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			r.Close()
			w.WriteString(tc.send)
			w.Close()
			if err := cmd.Wait(); err == nil || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("run: %v, stderr %q; want a failure naming %q", err, stderr.String(), tc.want)
			}
			e.assertNothingLeft(id, dir)
		})
	}

	t.Run("go-ahead", func(t *testing.T) {
		b := newBundle(t, "sleep", "30")
		id := e.id()
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		pidFile := filepath.Join(t.TempDir(), "pid")
		cmd := e.command("run", "--detach", "--wait-fd", "3", "--pid-file", pidFile, "--bundle", b.Dir, id)
		// A file: the container keeps the stdio it is given.
		errf := tempFile(t)
		cmd.Stderr = errf
		cmd.ExtraFiles = []*os.File{r}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r.Close()
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		// The bundle is written after the runtime started.
		select {
		case err := <-exited:
			t.Fatalf("the runtime did not wait for the go-ahead: %v: %s", err, readBack(t, errf))
		case <-time.After(300 * time.Millisecond):
		}
		if _, err := os.Stat(filepath.Join(e.root, id)); !os.IsNotExist(err) {
			t.Fatalf("state made before the go-ahead: %v", err)
		}
		b.save(t)
		if _, err := w.WriteString("G"); err != nil {
			t.Fatal(err)
		}
		if err := <-exited; err != nil {
			t.Fatalf("run after the go-ahead: %v: %s", err, readBack(t, errf))
		}
		if st := e.state(id); st["status"] != "running" {
			t.Fatalf("status %v, want running", st["status"])
		}
		// The descriptor is the runtime's, not the container's.
		out := e.mustRun("exec", id, "ls", "/proc/1/fd")
		if got := strings.Join(strings.Fields(out), " "); got != "0 1 2" {
			t.Errorf("descriptors of the container's init: %q, want 0 1 2", got)
		}
		e.mustRun("delete", "--force", id)
		errf.Close()
	})

	// On a socket the runtime answers 'R' once the container runs, so
	// that its caller need not wait for the runtime's exit.
	t.Run("running reply", func(t *testing.T) {
		b := newBundle(t, "sleep", "30")
		b.save(t)
		id := e.id()
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		ours, theirs := os.NewFile(uintptr(fds[0]), "go-ahead"), os.NewFile(uintptr(fds[1]), "go-ahead (runtime)")
		defer ours.Close()
		cmd := e.command("run", "--detach", "--wait-fd", "3", "--bundle", b.Dir, id)
		errf := tempFile(t)
		defer errf.Close()
		cmd.Stderr = errf
		cmd.ExtraFiles = []*os.File{theirs}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		theirs.Close()
		if _, err := ours.WriteString("G"); err != nil {
			t.Fatal(err)
		}
		var reply [2]byte
		n, err := io.ReadFull(ours, reply[:1])
		if n != 1 || reply[0] != 'R' {
			t.Fatalf("reply %q, %v; want R: %s", reply[:n], err, readBack(t, errf))
		}
		// Running already, the runtime exiting or not; state's lock is free.
		if st := e.state(id); st["status"] != "running" {
			t.Errorf("status after R: %v, want running", st["status"])
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("run: %v: %s", err, readBack(t, errf))
		}
		// Nothing more, and the runtime's end is closed.
		if n, err := ours.Read(reply[:]); n != 0 || err != io.EOF {
			t.Errorf("after R: read %d bytes, %v; want end of file", n, err)
		}
		e.mustRun("delete", "--force", id)
	})
}
