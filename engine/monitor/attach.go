package monitor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Attach frames: a kind byte, a big-endian uint32 length, the data. The
// monitor sends stdout, stderr and, when the container ends, exit; a
// client sends stdin (length 0: close stdin) and resize.
const (
	FrameStdin  byte = 0
	FrameStdout byte = 1
	FrameStderr byte = 2
	// FrameResize carries rows and columns, two big-endian uint16.
	FrameResize byte = 3
	// FrameExit carries the exit code, a big-endian int32.
	FrameExit byte = 4
)

// maxFrame bounds a frame's data.
const maxFrame = 1 << 20

// WriteFrame writes one frame.
func WriteFrame(w io.Writer, kind byte, data []byte) error {
	if len(data) > maxFrame {
		return fmt.Errorf("attach frame of %d bytes: larger than %d", len(data), maxFrame)
	}
	buf := make([]byte, 5+len(data))
	buf[0] = kind
	binary.BigEndian.PutUint32(buf[1:5], uint32(len(data)))
	copy(buf[5:], data)
	_, err := w.Write(buf)
	return err
}

// ReadFrame reads one frame.
func ReadFrame(r io.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:5])
	if n > maxFrame {
		return 0, nil, errors.New("attach frame too large")
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return 0, nil, err
	}
	return hdr[0], data, nil
}
