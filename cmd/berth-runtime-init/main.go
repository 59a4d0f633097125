// Command berth-runtime-init is the container's init of berth-runtime
// (runtime/initproc) as a binary of its own, built without cgo. A cgo
// binary's Go start costs this host twice a plain one's, and init's start
// is on the path of every container start. berth-runtime starts it, from
// a read-only view (selfexe.OpenWith), when the clone that starts it can
// make the container's namespaces: none joined, a new pid namespace, no
// user or time namespace (container.cloneOnly). Otherwise it starts
// `berth-runtime init`, whose nsexec constructor makes them.
package main

import (
	"runtime"

	"berth/runtime/initproc"
)

func init() {
	// Credentials and capabilities are set on the thread that will
	// execve; main stays on it.
	runtime.GOMAXPROCS(1)
	runtime.LockOSThread()
}

func main() { initproc.Main() }
