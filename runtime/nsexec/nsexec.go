// Package nsexec joins and creates the namespaces of a container process
// before the Go runtime starts (nsexec.c, the counterpart of runc's nsexec),
// and holds the parent's side of that bootstrap protocol.
//
// Importing this package links the C constructor into the binary. It acts
// only in processes whose environment names an init pipe (EnvInitPipe).
package nsexec

// #cgo CFLAGS: -Wall -O2
import "C"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// EnvInitPipe names the environment variable that carries the number of the
// init socket to the constructor.
const EnvInitPipe = "_BERTH_INITPIPE"

// maxErrorLen bounds an error message read from the child.
const maxErrorLen = 64 << 10

// Bootstrap is what the constructor does before Go starts.
type Bootstrap struct {
	// Unshare holds the CLONE_NEW* flags of namespaces to create.
	Unshare uintptr
	// Join lists namespace files to setns into, in order (user first).
	Join []string
	// TimeOffsets is written to /proc/self/timens_offsets after a new time
	// namespace is created.
	TimeOffsets string
	// Fork makes the constructor fork even without a new pid or time
	// namespace, as joining a pid namespace needs.
	Fork bool
	// BecomeRoot switches to uid and gid 0 of a joined user namespace.
	BecomeRoot bool
}

// Encode returns the wire form of b.
func (b Bootstrap) Encode() ([]byte, error) {
	var recs []string
	recs = append(recs, "flags="+strconv.FormatUint(uint64(b.Unshare), 10))
	for _, p := range b.Join {
		if strings.ContainsRune(p, 0) {
			return nil, fmt.Errorf("namespace path %q contains a NUL byte", p)
		}
		recs = append(recs, "ns="+p)
	}
	if b.TimeOffsets != "" {
		recs = append(recs, "timens="+b.TimeOffsets)
	}
	if b.Fork {
		recs = append(recs, "fork=1")
	}
	if b.BecomeRoot {
		recs = append(recs, "root=1")
	}
	body := strings.Join(recs, "\x00") + "\x00"
	out := binary.LittleEndian.AppendUint32(nil, uint32(len(body)))
	return append(out, body...), nil
}

// Handshake sends b to the freshly started process whose pid is child over
// conn and runs the parent's side of the protocol. When the child has created
// a user namespace, writeMaps is called to write its id mappings. It returns
// the pid of the process that continues into Go: the child itself, or its own
// child when the constructor forked.
func Handshake(conn io.ReadWriter, b Bootstrap, child int, writeMaps func(pid int) error) (int, error) {
	msg, err := b.Encode()
	if err != nil {
		return 0, err
	}
	if _, err := conn.Write(msg); err != nil {
		return 0, fmt.Errorf("send bootstrap: %w", err)
	}
	var tag [1]byte
	for {
		if _, err := io.ReadFull(conn, tag[:]); err != nil {
			return 0, fmt.Errorf("read bootstrap reply: %w", err)
		}
		switch tag[0] {
		case 'U':
			if writeMaps == nil {
				return 0, errors.New("child created a user namespace but no mappings were given")
			}
			if err := writeMaps(child); err != nil {
				return 0, err
			}
			if _, err := conn.Write([]byte{'A'}); err != nil {
				return 0, fmt.Errorf("ack id mappings: %w", err)
			}
		case 'P':
			var pid int32
			if err := binary.Read(conn, binary.LittleEndian, &pid); err != nil {
				return 0, fmt.Errorf("read pid: %w", err)
			}
			if pid <= 0 {
				return 0, fmt.Errorf("child reported invalid pid %d", pid)
			}
			return int(pid), nil
		case 'E':
			var n uint32
			if err := binary.Read(conn, binary.LittleEndian, &n); err != nil {
				return 0, fmt.Errorf("read error length: %w", err)
			}
			if n > maxErrorLen {
				return 0, fmt.Errorf("child error message too long (%d bytes)", n)
			}
			buf := make([]byte, n)
			if _, err := io.ReadFull(conn, buf); err != nil {
				return 0, fmt.Errorf("read error message: %w", err)
			}
			return 0, errors.New(string(buf))
		default:
			return 0, fmt.Errorf("unexpected bootstrap reply %q", tag[0])
		}
	}
}
