package link

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// procSysNet is where the per-namespace net sysctls live. /proc/sys/net
// shows the namespace of the thread that opens the file.
const procSysNet = "/proc/sys/net"

// setIfaceSysctl sets net.<family>.conf.<iface>.<key> in the calling
// thread's network namespace. iface must already be validated (it becomes
// a path component). A missing file (IPv6 disabled in the kernel) is
// reported as fs.ErrNotExist.
func setIfaceSysctl(family, iface, key, value string) error {
	return writeSysctl(filepath.Join(procSysNet, family, "conf", iface, key), value)
}

// writeSysctl writes value to a sysctl file unless it already holds it,
// so repeating a setup never needs write access it did not need before.
func writeSysctl(path, value string) error {
	cur, err := os.ReadFile(path)
	if err == nil && string(bytes.TrimSpace(cur)) == value {
		return nil
	}
	if err != nil && errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sysctl %s: %w", path, err)
	}
	if err := os.WriteFile(path, []byte(value+"\n"), 0o644); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", path, value, err)
	}
	return nil
}

// EnableIPForward turns on IPv4 forwarding (net.ipv4.ip_forward) in the
// calling thread's network namespace: on the host, a host-wide change
// that Docker makes too and that NAT for containers needs. Nothing in
// this package calls it; the engine does, once, before it relies on
// forwarding. Tests must only call it inside a namespace of their own.
func EnableIPForward() error {
	return writeSysctl(filepath.Join(procSysNet, "ipv4", "ip_forward"), "1")
}
