package logs

import (
	"context"
	"os"
	"testing"
	"time"
)

// FuzzRead feeds arbitrary bytes as a rotated and a live log file: Read
// must not fail or panic, and the tail must be the end of the full read.
func FuzzRead(f *testing.F) {
	good := appendEntry(nil, "stdout", []byte("hello\n"), t0)
	good = appendEntry(good, "stderr", []byte("wor\x00ld\xff"), t0.Add(time.Second))
	f.Add(good, uint8(1))
	f.Add([]byte("garbage\n\n{}\n[]\n"), uint8(3))
	f.Add([]byte(`{"log":"x","stream":"stdout","time":"2026-11-27T02:42:13Z"}`), uint8(0))
	f.Add([]byte(`{"log":"\ud800","stream":"stderr","time":"0001-01-01T00:00:00.000000001Z"}`+"\n"), uint8(2))
	f.Add([]byte(`{"log":"tor`), uint8(5))
	f.Fuzz(func(t *testing.T, data []byte, tail uint8) {
		p := newLog(t)
		if err := os.WriteFile(p+".1", data, 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o640); err != nil {
			t.Fatal(err)
		}
		all := readAll(t, p, ReadOptions{Tail: -1})
		last := readAll(t, p, ReadOptions{Tail: int(tail)})
		want := all[max(0, len(all)-int(tail)):]
		// The live file's unterminated last line is left to a
		// follower by Tail, and never handed out by the forward read
		// either: both agree.
		if len(last) != len(want) {
			t.Fatalf("tail %d: %d lines, full read ends with %d", tail, len(last), len(want))
		}
		for i := range last {
			if last[i] != want[i] {
				t.Fatalf("tail %d: line %d %q, want %q", tail, i, last[i].Line, want[i].Line)
			}
		}
		for _, r := range all {
			if r.Stream != "stdout" && r.Stream != "stderr" || r.Time.IsZero() {
				t.Fatalf("bad line handed out: %+v", r)
			}
		}
	})
}

// FuzzWriteRead writes arbitrary output and reads it back: the text must
// come back whole (invalid UTF-8 replaced as encoding/json does).
func FuzzWriteRead(f *testing.F) {
	f.Add([]byte("hello\nworld"), []byte("err\n"), int64(100))
	f.Add([]byte("\xff\xfe<&>\u2028\x00\n"), []byte{}, int64(0))
	f.Fuzz(func(t *testing.T, out, errb []byte, maxSize int64) {
		p := newLog(t)
		if maxSize <= 0 || maxSize > 1<<20 {
			maxSize = 1 << 20 // keep everything: the check needs all of it
		}
		w, err := NewWriter(p, Options{MaxSize: max(maxSize, 1<<20), MaxFiles: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if err := w.Write("stdout", out, t0); err != nil {
			t.Fatal(err)
		}
		if err := w.Write("stderr", errb, t0); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		var gotOut, gotErr []byte
		err = Read(context.Background(), p, ReadOptions{Tail: -1}, func(s string, _ time.Time, line []byte) error {
			if s == "stdout" {
				gotOut = append(gotOut, line...)
			} else {
				gotErr = append(gotErr, line...)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// Pieces are encoded one by one: a character cut at a 16K
		// boundary becomes U+FFFD per byte, like any invalid byte.
		if want := validPieces(out); string(gotOut) != want {
			t.Fatalf("stdout: got %q, want %q", gotOut, want)
		}
		if want := validPieces(errb); string(gotErr) != want {
			t.Fatalf("stderr: got %q, want %q", gotErr, want)
		}
	})
}

// validPieces is what reading back b gives: b cut as the Writer cuts it,
// each piece with invalid UTF-8 replaced.
func validPieces(b []byte) string {
	var s string
	for len(b) > 0 {
		n := len(b)
		for i, c := range b {
			if c == '\n' && i < MaxLine {
				n = i + 1
				break
			}
			if i == MaxLine-1 {
				n = MaxLine
				break
			}
		}
		s += string([]rune(string(b[:n])))
		b = b[n:]
	}
	return s
}

// FuzzParseOptions checks --log-opt parsing never panics and keeps its
// promises.
func FuzzParseOptions(f *testing.F) {
	for _, s := range []string{"10m", "1.5g", "-1", "12x", "", "1e9", "9999999999999p", "0.0001k"} {
		f.Add(s, "3")
	}
	f.Fuzz(func(t *testing.T, size, files string) {
		o, err := ParseOptions(map[string]string{"max-size": size, "max-file": files})
		if err != nil {
			return
		}
		if o.MaxSize == 0 || o.MaxSize < -1 || o.MaxFiles < 1 {
			t.Fatalf("%q %q: %+v", size, files, o)
		}
	})
}

// FuzzDecode checks the fast decoder against encoding/json: whatever
// the fast path accepts, encoding/json reads the same way.
func FuzzDecode(f *testing.F) {
	f.Add(appendEntry(nil, "stdout", []byte("a\tb\x00<é>\u2028\xff\n"), t0))
	f.Add([]byte(`{"log":"\u00e9\ud83d\udc33\/\b\f","stream":"stderr","time":"2026-11-27T02:42:13+02:00"}`))
	f.Add([]byte(`{"log":"x","stream":"stdout","time":"2026-11-27T02:42:13Z"} `))
	f.Fuzz(func(t *testing.T, line []byte) {
		var fast, slow entry
		if !fastDecode(line, &fast) {
			return
		}
		if err := slowDecode(line, &slow); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json: %v", line, err)
		}
		if string(fast.Log) != string(slow.Log) || fast.Stream != slow.Stream || !fast.Time.Equal(slow.Time) {
			t.Fatalf("%q: fast %q %s %v, json %q %s %v", line, fast.Log, fast.Stream, fast.Time, slow.Log, slow.Stream, slow.Time)
		}
	})
}
