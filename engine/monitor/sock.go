package monitor

import (
	"net"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Unix socket paths are limited to 108 bytes, which a container directory
// (/var/lib/berth/containers/<64 hex digits>/...) exceeds. Sockets are so
// named through a descriptor of their directory: /proc/self/fd/N/name is
// short, and the kernel resolves it to the directory.

// DialIn connects to the unix socket name in dir.
func DialIn(dir, name string) (*net.UnixConn, error) {
	d, err := os.OpenFile(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return net.DialUnix("unix", nil, &net.UnixAddr{Name: fdPath(d, name), Net: "unix"})
}

func fdPath(d *os.File, name string) string {
	return "/proc/self/fd/" + strconv.Itoa(int(d.Fd())) + "/" + name
}
