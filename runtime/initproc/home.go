package initproc

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// maxPasswd bounds how much of the image's /etc/passwd is read.
const maxPasswd = 1 << 20

// withHome adds HOME to env when it is not set, as runc does: the home
// directory of uid in the container's /etc/passwd, or "/".
func withHome(env []string, uid uint32) []string {
	for _, e := range env {
		if strings.HasPrefix(e, "HOME=") {
			return env
		}
	}
	home := "/"
	// Non-blocking and regular files only: the image could make
	// /etc/passwd a fifo or a device to hang or confuse init.
	if f, err := os.OpenFile("/etc/passwd", os.O_RDONLY|unix.O_NONBLOCK, 0); err == nil {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			if h, ok := passwdHome(io.LimitReader(f, maxPasswd), uid); ok {
				home = h
			}
		}
		f.Close()
	}
	return append(env, "HOME="+home)
}

// passwdHome returns the home directory of uid in a passwd(5) file. The
// file comes from the image: malformed lines are skipped.
func passwdHome(r io.Reader, uid uint32) (string, bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64<<10)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 7 {
			continue
		}
		id, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil || uint32(id) != uid {
			continue
		}
		if f[5] == "" || !strings.HasPrefix(f[5], "/") {
			return "", false
		}
		return f[5], true
	}
	return "", false
}
