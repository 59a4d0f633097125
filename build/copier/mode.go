package copier

import (
	"io/fs"

	"golang.org/x/sys/unix"
)

// modeSpecial returns the setuid, setgid and sticky bits of m as the
// kernel's mode bits.
func modeSpecial(m fs.FileMode) uint32 {
	var bits uint32
	if m&fs.ModeSetuid != 0 {
		bits |= unix.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		bits |= unix.S_ISGID
	}
	if m&fs.ModeSticky != 0 {
		bits |= unix.S_ISVTX
	}
	return bits
}

// ParseChmod parses a --chmod value: an octal mode of up to four digits
// ("755", "0644", "4755"), as Docker accepts.
func ParseChmod(s string) (fs.FileMode, error) {
	if s == "" || len(s) > 4 {
		return 0, errInvalidChmod(s)
	}
	var v uint32
	for _, ch := range s {
		if ch < '0' || ch > '7' {
			return 0, errInvalidChmod(s)
		}
		v = v*8 + uint32(ch-'0')
	}
	m := fs.FileMode(v & 0o777)
	if v&unix.S_ISUID != 0 {
		m |= fs.ModeSetuid
	}
	if v&unix.S_ISGID != 0 {
		m |= fs.ModeSetgid
	}
	if v&unix.S_ISVTX != 0 {
		m |= fs.ModeSticky
	}
	return m, nil
}

// errInvalidChmod is Docker's message for a bad --chmod.
type errInvalidChmod string

func (e errInvalidChmod) Error() string {
	return "invalid chmod parameter: " + string(e) + ": want an octal mode such as 0755"
}
