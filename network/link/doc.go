// Package link sets up the kernel side of berth's container networking
// through netlink: persistent network namespace files, the bridges that
// networks use, and the veth pairs that attach a container's namespace to
// a bridge.
//
// Nothing here keeps state in memory: the kernel (links, addresses,
// routes) and the netns bind mounts are the state, so every operation is
// safe to repeat, and removal tolerates things that are already gone
// (after kill -9 of anything, or after a reboot that dropped the mounts).
//
// Work inside another namespace runs on a goroutine locked to a fresh OS
// thread that switches namespace and is never unlocked, so the Go runtime
// ends that thread instead of reusing it in a changed namespace.
//
// Functions without a namespace path act on the caller's current network
// namespace (the host's, in the engine). Host-wide settings are never
// changed implicitly: EnableIPForward is separate and only the engine
// calls it.
package link
