package container

import (
	"testing"

	"golang.org/x/sys/unix"

	"berth/runtime/initproc"
	"berth/runtime/nsexec"
)

// TestCloneOnly: berth-runtime-init is started by a clone that makes the
// namespaces only when none is joined, there is a new pid namespace and
// neither a user nor a time one.
func TestCloneOnly(t *testing.T) {
	all := uintptr(unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS)
	for _, tc := range []struct {
		b    nsexec.Bootstrap
		want bool
	}{
		{nsexec.Bootstrap{Unshare: all}, true},
		{nsexec.Bootstrap{}, false},
		{nsexec.Bootstrap{Unshare: all &^ unix.CLONE_NEWPID}, false},
		{nsexec.Bootstrap{Unshare: unix.CLONE_NEWPID}, true},
		{nsexec.Bootstrap{Unshare: all | unix.CLONE_NEWUSER}, false},
		{nsexec.Bootstrap{Unshare: all | unix.CLONE_NEWTIME}, false},
		{nsexec.Bootstrap{Unshare: all, TimeOffsets: "monotonic 1 0\n"}, false},
		{nsexec.Bootstrap{Unshare: all &^ unix.CLONE_NEWNET, Join: []string{"/proc/1/ns/net"}}, false},
		{nsexec.Bootstrap{Unshare: all, Fork: true}, false},
		{nsexec.Bootstrap{BecomeRoot: true}, false},
	} {
		if got := cloneOnly(tc.b); got != tc.want {
			t.Errorf("cloneOnly(%+v) = %v, want %v", tc.b, got, tc.want)
		}
	}
}

// TestInitPipeName: init (initproc, without nsexec in berth-runtime-init)
// and nsexec's constructor read the init socket's number from the same
// variable.
func TestInitPipeName(t *testing.T) {
	if initproc.EnvInitPipe != nsexec.EnvInitPipe {
		t.Errorf("initproc reads %s, nsexec %s", initproc.EnvInitPipe, nsexec.EnvInitPipe)
	}
}
