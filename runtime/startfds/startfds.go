// Package startfds tells whether the descriptors berth-runtime's command
// line names (--preserve-fds, --wait-fd) were open when the process
// started, as a C constructor saw them before the Go runtime or any other
// constructor could open a descriptor of its own at the same number (see
// startfds.c). Import it into a binary for the constructor; its answers
// are about that process's start.
package startfds

// #cgo CFLAGS: -O2 -Wall -Wextra -Werror
// int berth_startfds_wait(long fd);
// int berth_startfds_preserved(long n);
import "C"

// WaitFD reports whether descriptor fd, given as --wait-fd, was open at
// start; known is false when the constructor did not see it so (an
// unusual spelling of the number), and the caller must check itself.
func WaitFD(fd int) (open, known bool) {
	switch C.berth_startfds_wait(C.long(fd)) {
	case 1:
		return true, true
	case 0:
		return false, true
	}
	return false, false
}

// FirstClosedPreserved returns the first of the n descriptors from 3
// that --preserve-fds n passes which was closed at start (0 if none was);
// known is false when the constructor did not see --preserve-fds n.
func FirstClosedPreserved(n int) (fd int, known bool) {
	r := int(C.berth_startfds_preserved(C.long(n)))
	return r, r >= 0
}
