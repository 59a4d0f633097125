package nsexec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// decode splits an encoded bootstrap into its records, checking the length
// prefix and the terminating NUL.
func decode(t *testing.T, msg []byte) []string {
	t.Helper()
	if len(msg) < 4 {
		t.Fatalf("message of %d bytes has no length", len(msg))
	}
	n := binary.LittleEndian.Uint32(msg)
	body := msg[4:]
	if int(n) != len(body) {
		t.Fatalf("length prefix %d, body %d bytes", n, len(body))
	}
	if len(body) == 0 || body[len(body)-1] != 0 {
		t.Fatalf("body %q does not end with NUL", body)
	}
	return strings.Split(string(body[:len(body)-1]), "\x00")
}

func TestEncode(t *testing.T) {
	tests := []struct {
		name string
		b    Bootstrap
		want []string
	}{
		{"empty", Bootstrap{}, []string{"flags=0"}},
		{
			"unshare",
			Bootstrap{Unshare: unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS},
			[]string{"flags=604110848"},
		},
		{
			"joins keep their order",
			Bootstrap{Unshare: unix.CLONE_NEWNS, Join: []string{"/proc/1/ns/user", "/proc/1/ns/net", "/run/netns/a b"}},
			[]string{"flags=131072", "ns=/proc/1/ns/user", "ns=/proc/1/ns/net", "ns=/run/netns/a b"},
		},
		{
			"everything",
			Bootstrap{
				Unshare: unix.CLONE_NEWTIME, Join: []string{"/proc/9/ns/pid"}, TimeOffsets: "monotonic 5 0\nboottime 1 2\n",
				Fork: true, BecomeRoot: true,
			},
			[]string{"flags=128", "ns=/proc/9/ns/pid", "timens=monotonic 5 0\nboottime 1 2\n", "fork=1", "root=1"},
		},
		{
			// A path cannot forge a record: records are NUL-separated and a
			// newline or "=" is just part of the path.
			"hostile path characters",
			Bootstrap{Join: []string{"/x\nroot=1", "/y=fork=1", ""}},
			[]string{"flags=0", "ns=/x\nroot=1", "ns=/y=fork=1", "ns="},
		},
		{"largest flags", Bootstrap{Unshare: ^uintptr(0)}, []string{"flags=18446744073709551615"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg, err := tc.b.Encode()
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			got := decode(t, msg)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("records %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEncodeWireFormat(t *testing.T) {
	msg, err := Bootstrap{Join: []string{"/a"}, Fork: true}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := []byte("\x15\x00\x00\x00flags=0\x00ns=/a\x00fork=1\x00")
	if !bytes.Equal(msg, want) {
		t.Fatalf("Encode = %q, want %q", msg, want)
	}
}

func TestEncodeRejectsNUL(t *testing.T) {
	for _, p := range []string{"\x00", "/proc/1/ns/net\x00root=1", "/a\x00"} {
		b := Bootstrap{Join: []string{"/proc/1/ns/user", p}}
		msg, err := b.Encode()
		if err == nil {
			t.Errorf("Encode with path %q = %q, want an error", p, msg)
			continue
		}
		if !strings.Contains(err.Error(), "NUL") {
			t.Errorf("Encode with path %q: %v, want an error about the NUL byte", p, err)
		}
	}
}

// FuzzBootstrapEncode: Encode never panics, rejects a NUL in a namespace
// path, and otherwise produces a message whose records give the input back.
func FuzzBootstrapEncode(f *testing.F) {
	f.Add(uint64(0), "/proc/1/ns/net", "", false, false)
	f.Add(uint64(unix.CLONE_NEWUSER|unix.CLONE_NEWNS), "/proc/1/ns/user\x00/proc/1/ns/pid", "monotonic 1 0\n", true, true)
	f.Add(uint64(1<<63), "\x00", "x", false, true)
	f.Add(uint64(7), "/x\nroot=1", "boottime -1 -1\n", true, false)
	f.Fuzz(func(t *testing.T, flags uint64, paths, timens string, fork, root bool) {
		// paths holds one namespace path per line.
		var join []string
		if paths != "" {
			join = strings.Split(paths, "\n")
		}
		b := Bootstrap{Unshare: uintptr(flags), Join: join, TimeOffsets: timens, Fork: fork, BecomeRoot: root}
		msg, err := b.Encode()
		if strings.Contains(paths, "\x00") {
			if err == nil {
				t.Fatalf("path with NUL accepted: %q", paths)
			}
			return
		}
		if err != nil {
			t.Fatalf("Encode(%+v): %v", b, err)
		}
		if strings.Contains(timens, "\x00") {
			// Not reachable from a config (the offsets are formatted from
			// numbers); the records would not round-trip.
			return
		}
		recs := decode(t, msg)
		want := []string{"flags=" + uintString(flags)}
		for _, p := range join {
			want = append(want, "ns="+p)
		}
		if timens != "" {
			want = append(want, "timens="+timens)
		}
		if fork {
			want = append(want, "fork=1")
		}
		if root {
			want = append(want, "root=1")
		}
		if strings.Join(recs, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("records %q, want %q", recs, want)
		}
	})
}

func uintString(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

// pipeConn is the parent's end of the init socket in Handshake tests: it
// records what the parent writes and replays the child's replies.
type pipeConn struct {
	replies *bytes.Reader
	sent    bytes.Buffer
}

func (c *pipeConn) Read(p []byte) (int, error)  { return c.replies.Read(p) }
func (c *pipeConn) Write(p []byte) (int, error) { return c.sent.Write(p) }

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

func TestHandshake(t *testing.T) {
	errMaps := errors.New("maps failed")
	tests := []struct {
		name     string
		replies  []byte
		maps     func(int) error
		wantPid  int
		wantErr  string
		wantSent string // after the bootstrap message
	}{
		{name: "pid", replies: append([]byte("P"), le32(1234)...), wantPid: 1234},
		{
			name:    "user namespace then pid",
			replies: append([]byte("U"), append([]byte("P"), le32(77)...)...),
			maps: func(pid int) error {
				if pid != 42 {
					return errors.New("maps for the wrong pid")
				}
				return nil
			},
			wantPid: 77, wantSent: "A",
		},
		{name: "user namespace without mappings", replies: []byte("U"), wantErr: "no mappings were given"},
		{name: "mappings fail", replies: []byte("U"), maps: func(int) error { return errMaps }, wantErr: "maps failed"},
		{name: "child error", replies: append(append([]byte("E"), le32(9)...), "setns: no"...), wantErr: "setns: no"},
		{name: "child error too long", replies: append([]byte("E"), le32(1<<31)...), wantErr: "too long"},
		{name: "child error cut short", replies: append(append([]byte("E"), le32(100)...), "short"...), wantErr: "read error message"},
		{name: "zero pid", replies: append([]byte("P"), le32(0)...), wantErr: "invalid pid 0"},
		{name: "negative pid", replies: append([]byte("P"), le32(0xffffffff)...), wantErr: "invalid pid -1"},
		{name: "pid cut short", replies: []byte("P\x01\x02"), wantErr: "read pid"},
		{name: "unknown reply", replies: []byte("X"), wantErr: `unexpected bootstrap reply 'X'`},
		{name: "no reply", replies: nil, wantErr: "read bootstrap reply"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn := &pipeConn{replies: bytes.NewReader(tc.replies)}
			b := Bootstrap{Unshare: unix.CLONE_NEWNS}
			pid, err := Handshake(conn, b, 42, tc.maps)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Handshake: pid %d, error %v; want an error containing %q", pid, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Handshake: %v", err)
			}
			if pid != tc.wantPid {
				t.Fatalf("pid %d, want %d", pid, tc.wantPid)
			}
			msg, _ := b.Encode()
			if !bytes.HasPrefix(conn.sent.Bytes(), msg) || string(conn.sent.Bytes()[len(msg):]) != tc.wantSent {
				t.Fatalf("sent %q, want the bootstrap then %q", conn.sent.Bytes(), tc.wantSent)
			}
		})
	}
}

func TestHandshakeRejectsNULBeforeSending(t *testing.T) {
	conn := &pipeConn{replies: bytes.NewReader(nil)}
	if _, err := Handshake(conn, Bootstrap{Join: []string{"/a\x00b"}}, 1, nil); err == nil {
		t.Fatal("Handshake accepted a NUL in a path")
	}
	if conn.sent.Len() != 0 {
		t.Fatalf("sent %q before failing", conn.sent.Bytes())
	}
}

var _ io.ReadWriter = (*pipeConn)(nil)
