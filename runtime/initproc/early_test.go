package initproc

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func socketPair(t *testing.T) (a, b *os.File) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b = os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func tempFiles(t *testing.T, n int) []*os.File {
	t.Helper()
	var fs []*os.File
	for i := 0; i < n; i++ {
		f, err := os.Create(filepath.Join(t.TempDir(), "f"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		fs = append(fs, f)
	}
	return fs
}

// sameFile reports whether fd and f are the same open file's inode.
func sameFile(t *testing.T, fd int, f *os.File) bool {
	t.Helper()
	var a, b unix.Stat_t
	if err := unix.Fstat(fd, &a); err != nil {
		t.Fatalf("fstat %d: %v", fd, err)
	}
	if err := unix.Fstat(int(f.Fd()), &b); err != nil {
		t.Fatal(err)
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

// TestEarlyFDs: the descriptors SendEarly sends arrive in their places,
// close-on-exec, those not sent as 0, and the config after them is read
// whole.
func TestEarlyFDs(t *testing.T) {
	fs := tempFiles(t, 3)
	for _, tc := range []struct {
		name                string
		fifo, console, tree *os.File
	}{
		{"all", fs[0], fs[1], fs[2]},
		{"no console", fs[0], nil, fs[2]},
		{"none", nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := socketPair(t)
			if err := SendEarly(a, tc.fifo, tc.console, tc.tree); err != nil {
				t.Fatal(err)
			}
			if _, err := a.WriteString(`{"mode":"create"}`); err != nil {
				t.Fatal(err)
			}
			e, err := RecvEarly(b)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				got  int
				want *os.File
			}{{e.Fifo, tc.fifo}, {e.Console, tc.console}, {e.RootfsTree, tc.tree}} {
				if c.want == nil {
					if c.got != 0 {
						t.Errorf("got descriptor %d for one not sent", c.got)
					}
					continue
				}
				if !sameFile(t, c.got, c.want) {
					t.Errorf("descriptor %d is not the file sent", c.got)
				}
				if flags, err := unix.FcntlInt(uintptr(c.got), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC == 0 {
					t.Errorf("descriptor %d: flags %#x, %v; want close-on-exec", c.got, flags, err)
				}
				unix.Close(c.got)
			}
			var cfg Config
			cfg.FifoFD, cfg.ConsoleFD = 99, 98
			e.apply(&cfg)
			if cfg.FifoFD != e.Fifo || cfg.ConsoleFD != e.Console || cfg.RootfsTree != e.RootfsTree {
				t.Errorf("apply: %+v from %+v", cfg, e)
			}
			buf := make([]byte, 64)
			n, _ := b.Read(buf)
			if string(buf[:n]) != `{"mode":"create"}` {
				t.Errorf("config after the descriptors: %q", buf[:n])
			}
		})
	}
}

// TestRecvEarlyHostile: a message that does not say what it carries is
// refused, and the descriptors it brought are closed.
func TestRecvEarlyHostile(t *testing.T) {
	fs := tempFiles(t, 2)
	for _, tc := range []struct {
		name  string
		data  []byte
		files []*os.File
	}{
		{"more descriptors than flags", []byte{EarlyFifo}, fs},
		{"fewer descriptors than flags", []byte{EarlyFifo | EarlyConsole}, fs[:1]},
		{"flags without descriptors", []byte{EarlyRootfsTree}, nil},
		{"unknown flag", []byte{0x80}, nil},
		{"nothing", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := socketPair(t)
			var oob []byte
			if len(tc.files) > 0 {
				var fds []int
				for _, f := range tc.files {
					fds = append(fds, int(f.Fd()))
				}
				oob = unix.UnixRights(fds...)
			}
			if tc.data != nil {
				if err := unix.Sendmsg(int(a.Fd()), tc.data, oob, nil, 0); err != nil {
					t.Fatal(err)
				}
			}
			a.Close()
			before := openFDs(t)
			e, err := RecvEarly(b)
			if err == nil {
				t.Fatalf("accepted: %+v", e)
			}
			if after := openFDs(t); after != before {
				t.Errorf("%d descriptors open before, %d after: the received ones were not closed", before, after)
			}
		})
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
