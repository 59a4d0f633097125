package monitor

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestFrames(t *testing.T) {
	var buf bytes.Buffer
	for _, f := range []struct {
		kind byte
		data []byte
	}{{FrameStdout, []byte("hello\n")}, {FrameStdin, nil}, {FrameExit, []byte{0, 0, 0, 3}}} {
		if err := WriteFrame(&buf, f.kind, f.data); err != nil {
			t.Fatal(err)
		}
		kind, data, err := ReadFrame(&buf)
		if err != nil || kind != f.kind || !bytes.Equal(data, f.data) && len(f.data) > 0 {
			t.Errorf("round trip of %d %q: %d %q %v", f.kind, f.data, kind, data, err)
		}
	}
	if err := WriteFrame(&buf, FrameStdin, make([]byte, maxFrame+1)); err == nil {
		t.Error("an oversized frame was written")
	}
	// A header announcing more than the limit is refused before reading.
	hdr := []byte{FrameStdin, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(hdr[1:], maxFrame+1)
	if _, _, err := ReadFrame(bytes.NewReader(hdr)); err == nil {
		t.Error("an oversized frame was read")
	}
	if _, _, err := ReadFrame(bytes.NewReader([]byte{1, 0, 0, 0, 9, 'x'})); err == nil {
		t.Error("a truncated frame was read")
	}
}

func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 2, 'h', 'i'})
	f.Add([]byte{4, 0, 0, 0, 4, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		for {
			_, data, err := ReadFrame(r)
			if err != nil {
				return
			}
			if len(data) > maxFrame {
				t.Fatalf("frame of %d bytes", len(data))
			}
		}
	})
}
