// Package console creates a container's pseudo-terminal and passes its
// master side over a unix socket (runc's --console-socket protocol).
package console

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"berth/runtime/inroot"
)

const devptsMagic = 0x1cd1

// OpenPTY opens a new pty pair on the devpts instance at dev/pts inside
// root. The master is checked to be a real devpts ptmx, and the slave is
// opened from the master (TIOCGPTPEER), never by a path the image could
// swap for a symlink.
func OpenPTY(root *os.File) (master, slave *os.File, err error) {
	master, err = inroot.Open(root, "/dev/pts/ptmx", unix.O_RDWR|unix.O_NOCTTY)
	if err != nil {
		return nil, nil, fmt.Errorf("open /dev/pts/ptmx: %w", err)
	}
	defer func() {
		if err != nil {
			master.Close()
		}
	}()
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(master.Fd()), &st); err != nil {
		return nil, nil, fmt.Errorf("statfs ptmx: %w", err)
	}
	if st.Type != devptsMagic {
		return nil, nil, fmt.Errorf("/dev/pts/ptmx is not on devpts")
	}
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	fd, _, errno := unix.Syscall(unix.SYS_IOCTL, master.Fd(), unix.TIOCGPTPEER, uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno != 0 {
		return nil, nil, fmt.Errorf("open pty peer: %w", errno)
	}
	n, err := unix.IoctlGetUint32(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		unix.Close(int(fd))
		return nil, nil, fmt.Errorf("get pty number: %w", err)
	}
	return master, os.NewFile(fd, fmt.Sprintf("/dev/pts/%d", n)), nil
}

// SetSize sets the window size of a terminal.
func SetSize(f *os.File, height, width uint) error {
	ws := &unix.Winsize{Row: uint16(height), Col: uint16(width)}
	if err := unix.IoctlSetWinsize(int(f.Fd()), unix.TIOCSWINSZ, ws); err != nil {
		return fmt.Errorf("set terminal size: %w", err)
	}
	return nil
}

// MakeControlling makes pty the stdio and controlling terminal of the
// calling process, in a new session.
func MakeControlling(pty *os.File) error {
	if _, err := unix.Setsid(); err != nil {
		return fmt.Errorf("setsid: %w", err)
	}
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup3(int(pty.Fd()), fd, 0); err != nil {
			return fmt.Errorf("dup terminal to fd %d: %w", fd, err)
		}
	}
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("set controlling terminal: %w", err)
	}
	return nil
}
