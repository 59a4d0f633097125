package container

import (
	"os"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/runtime/earlyinit"
	"berth/runtime/initproc"
	"berth/runtime/spec"
)

// TestEarlyInitAgrees: the constructor's early init is cloned into the
// namespaces a config with the default spec's has, berth-runtime-init may
// run in them, and it is told this runtime's init protocol.
func TestEarlyInitAgrees(t *testing.T) {
	b, err := bootstrapFor(&specs.Spec{Linux: &specs.Linux{Namespaces: spec.DefaultNamespaces()}})
	if err != nil {
		t.Fatal(err)
	}
	if b.Unshare != earlyinit.Flags {
		t.Errorf("default spec's clone flags %#x, the constructor's %#x", b.Unshare, earlyinit.Flags)
	}
	if !cloneOnly(b) {
		t.Error("the default spec's namespaces need more than a clone")
	}
	if got := earlyinit.Protocol(); got != initproc.Protocol {
		t.Errorf("the constructor tells init protocol %q, this runtime speaks %q", got, initproc.Protocol)
	}
}

// TestTakeEarlyFits: an early init is taken only for a create in its
// namespaces, with the runtime's own stdio, no preserved descriptors and a
// / that does not propagate to the host's; otherwise it is ended.
func TestTakeEarlyFits(t *testing.T) {
	base := func() *spawn {
		return &spawn{
			cfg: initproc.Config{Mode: initproc.ModeCreate, Spec: &specs.Spec{Linux: &specs.Linux{}}},
		}
	}
	for name, change := range map[string]func(sp *spawn, direct *bool){
		"not direct":       func(_ *spawn, direct *bool) { *direct = false },
		"other namespaces": func(sp *spawn, _ *bool) { sp.boot.Unshare &^= unix.CLONE_NEWNET },
		"exec":             func(sp *spawn, _ *bool) { sp.cfg.Mode = initproc.ModeExec },
		"preserved fds":    func(sp *spawn, _ *bool) { sp.preserve = 1 },
		"rshared":          func(sp *spawn, _ *bool) { sp.cfg.Spec.Linux.RootfsPropagation = "rshared" },
		"other stdio":      func(sp *spawn, _ *bool) { sp.stdio[1] = sp.stdio[2] },
	} {
		t.Run(name, func(t *testing.T) {
			sp := base()
			sp.boot.Unshare = earlyinit.Flags
			sp.stdio = stdio([3]*os.File{})
			direct := true
			change(sp, &direct)
			e := fakeEarly(t)
			sp.early = e.earlyInit
			if got := sp.takeEarly(direct); got != nil {
				t.Fatal("taken")
			}
			if !e.taken || !e.proc.waited {
				t.Error("not ended")
			}
			if sp.early != nil {
				t.Error("still held")
			}
		})
	}
}

// TestTakeEarlySends: a fitting early init is taken and gets, before its
// config, the exec fifo and the rootfs as a mount tree.
func TestTakeEarlySends(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("open_tree needs root")
	}
	f := fakeEarly(t)
	e := f.earlyInit
	fifo, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer fifo.Close()
	sp := &spawn{
		cfg:   initproc.Config{Mode: initproc.ModeCreate, Spec: &specs.Spec{Linux: &specs.Linux{}}, Rootfs: t.TempDir()},
		early: e, fifo: fifo, stdio: stdio([3]*os.File{}),
	}
	sp.boot.Unshare = earlyinit.Flags
	if got := sp.takeEarly(true); got != e {
		t.Fatal("a fitting early init was not taken")
	}
	got, err := initproc.RecvEarly(f.peer)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(got.Fifo)
	defer unix.Close(got.RootfsTree)
	if got.Fifo == 0 || got.RootfsTree == 0 || got.Console != 0 {
		t.Errorf("received %+v; want a fifo and a tree", got)
	}
	var st unix.Statx_t
	if err := unix.Statx(got.RootfsTree, "", unix.AT_EMPTY_PATH, unix.STATX_INO, &st); err != nil {
		t.Fatalf("rootfs tree: %v", err)
	}
}

// fakeEarly is an early init that is a plain child process, with the
// other end of its socket in peer.
type fakeInit struct {
	*earlyInit
	peer *os.File
}

func fakeEarly(t *testing.T) *fakeInit {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	sock, peer := os.NewFile(uintptr(fds[0]), "init socket"), os.NewFile(uintptr(fds[1]), "init")
	t.Cleanup(func() { peer.Close() })
	pid, err := syscall.ForkExec("/bin/sleep", []string{"sleep", "60"}, &syscall.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	e := &earlyInit{proc: &child{pid: pid}, sock: sock}
	t.Cleanup(func() { e.taken = false; e.discard() })
	return &fakeInit{e, peer}
}
