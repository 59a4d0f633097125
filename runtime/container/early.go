package container

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"berth/runtime/earlyinit"
	"berth/runtime/initproc"
)

// earlyInit is berth-runtime-init started by berth-runtime's constructor
// before the container's config was read (CreateOptions.EarlyInit,
// runtime/earlyinit): the clone, the exec and its Go runtime's start are
// behind it when the config comes. It runs in the new namespaces of the
// default spec with the runtime's stdio (and goes to the bundle, which
// may not have existed when it started, once it has its config); what
// depends on the config (the exec fifo, the console socket) comes on its
// socket with the config (initproc.SendEarly). Its mount namespace is a
// copy of the runtime's from before the engine mounted the rootfs: it gets
// the rootfs as a detached mount tree.
type earlyInit struct {
	proc *child
	sock *os.File
	// taken says it is spawn's (its process and socket are the started
	// init's) or already ended: discard then leaves it.
	taken bool
}

// takeEarlyInit returns the init the constructor started, if any.
func takeEarlyInit() *earlyInit {
	pid, sock, ok := earlyinit.Take()
	if !ok {
		return nil
	}
	return &earlyInit{proc: &child{pid: pid}, sock: sock}
}

// discard ends e, unless spawn has taken it; nil does nothing. Its
// socket closes first: init, waiting for its descriptors, sees the end.
func (e *earlyInit) discard() {
	if e == nil || e.taken {
		return
	}
	e.taken = true
	e.sock.Close()
	e.proc.kill()
	_ = e.proc.wait()
}

// takeEarly returns the early init, if any, when it fits the container
// and has taken its descriptors: berth-runtime-init is started directly
// (direct) in the namespaces the early one has, with the runtime's own
// stdio and no preserved descriptors, and / in those does not propagate
// to the host's (a rootfsPropagation of rshared: the rootfs tree attached
// would). It ends one that does not fit, or cannot take them.
func (sp *spawn) takeEarly(direct bool) *earlyInit {
	e := sp.early
	if e == nil {
		return nil
	}
	sp.early = nil
	s := sp.cfg.Spec
	fits := direct && sp.boot.Unshare == earlyinit.Flags && sp.cfg.Mode == initproc.ModeCreate &&
		sp.preserve == 0 && s != nil && s.Linux != nil && s.Linux.RootfsPropagation != "rshared"
	for i, f := range sp.stdio {
		fits = fits && f != nil && f.Fd() == uintptr(i)
	}
	if !fits {
		e.discard()
		return nil
	}
	if err := sp.sendEarly(e); err != nil {
		// Started as without it.
		e.discard()
		return nil
	}
	e.taken = true
	return e
}

// sendEarly sends the early init e the exec fifo, the console socket and
// the rootfs as a detached mount tree.
func (sp *spawn) sendEarly(e *earlyInit) error {
	fd, err := unix.OpenTree(unix.AT_FDCWD, sp.cfg.Rootfs, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return fmt.Errorf("copy the rootfs's mounts %s: %w", sp.cfg.Rootfs, err)
	}
	tree := os.NewFile(uintptr(fd), "rootfs tree")
	defer tree.Close()
	return initproc.SendEarly(e.sock, sp.fifo, sp.console, tree)
}
