package logs

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestWriterExactFile(t *testing.T) {
	p := newLog(t)
	w := newWriter(t, p, Options{})
	mustWrite(t, w, "stdout", "one\ntwo\n", t0)
	mustWrite(t, w, "stderr", "oops\n", t0.Add(time.Second))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"log":"one\n","stream":"stdout","time":"2026-11-27T02:42:13.123456789Z"}
{"log":"two\n","stream":"stdout","time":"2026-11-27T02:42:13.123456789Z"}
{"log":"oops\n","stream":"stderr","time":"2026-11-27T02:42:14.123456789Z"}
`
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != fileMode {
		t.Errorf("mode %v, want %v", st.Mode().Perm(), os.FileMode(fileMode))
	}
}

func TestWriterPartialLines(t *testing.T) {
	p := newLog(t)
	w := newWriter(t, p, Options{})
	t1 := t0.Add(time.Second)
	mustWrite(t, w, "stdout", "hel", t0)
	mustWrite(t, w, "stderr", "err", t0)
	mustWrite(t, w, "stdout", "lo\nwor", t1) // completes "hello\n" (time of its start)
	mustWrite(t, w, "stderr", "or\n", t1)
	mustWrite(t, w, "stdout", "ld", t1)
	if err := w.Flush(); err != nil { // "world" without '\n', as at exit
		t.Fatal(err)
	}
	got := fileEntries(t, p)
	want := []jentry{
		{"hello\n", "stdout", t0},
		{"error\n", "stderr", t0},
		{"world", "stdout", t1},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	// Flush with nothing pending writes nothing.
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := len(fileEntries(t, p)); n != 3 {
		t.Fatalf("%d entries after an empty Flush", n)
	}
}

func TestWriter16KSplit(t *testing.T) {
	for _, c := range []struct {
		name  string
		n     int   // bytes before '\n'
		parts []int // lengths of the entries' text
		chunk int   // write in pieces of this size (0: at once)
	}{
		{"fits", MaxLine - 1, []int{MaxLine}, 0},
		{"exactly16K", MaxLine, []int{MaxLine, 1}, 0},
		{"40000", 40000, []int{MaxLine, MaxLine, 40000 - 2*MaxLine + 1}, 0},
		{"40000 in 1000s", 40000, []int{MaxLine, MaxLine, 40000 - 2*MaxLine + 1}, 1000},
		{"40000 in 7s", 40000, []int{MaxLine, MaxLine, 40000 - 2*MaxLine + 1}, 7},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newLog(t)
			w := newWriter(t, p, Options{})
			line := strings.Repeat("x", c.n) + "\n"
			if c.chunk == 0 {
				mustWrite(t, w, "stdout", line, t0)
			} else {
				for i := 0; i < len(line); i += c.chunk {
					mustWrite(t, w, "stdout", line[i:min(i+c.chunk, len(line))], t0.Add(time.Duration(i)))
				}
			}
			es := fileEntries(t, p)
			if len(es) != len(c.parts) {
				t.Fatalf("%d entries, want %d", len(es), len(c.parts))
			}
			var all string
			for i, e := range es {
				if len(e.Log) != c.parts[i] {
					t.Errorf("entry %d: %d bytes, want %d", i, len(e.Log), c.parts[i])
				}
				if !e.Time.Equal(t0) {
					t.Errorf("entry %d: time %v, want the line's start %v", i, e.Time, t0)
				}
				all += e.Log
			}
			if all != line {
				t.Error("pieces do not rebuild the line")
			}
			// Read hands the pieces out in order.
			if got := joined(readAll(t, p, ReadOptions{Tail: -1})); got != line {
				t.Error("Read does not rebuild the line")
			}
		})
	}
}

func TestWriterInterleaving(t *testing.T) {
	p := newLog(t)
	w := newWriter(t, p, Options{})
	var want []rec
	for i := range 100 {
		s := "stdout"
		if i%3 == 0 {
			s = "stderr"
		}
		tm := t0.Add(time.Duration(i) * time.Millisecond)
		line := fmt.Sprintf("%s %d\n", s, i)
		mustWrite(t, w, s, line, tm)
		want = append(want, rec{s, tm, line})
	}
	got := readAll(t, p, ReadOptions{Tail: -1})
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	out := readAll(t, p, ReadOptions{Tail: -1, Stdout: true})
	errs := readAll(t, p, ReadOptions{Tail: -1, Stderr: true})
	if len(out) != 66 || len(errs) != 34 {
		t.Fatalf("stdout %d, stderr %d lines", len(out), len(errs))
	}
	for _, r := range out {
		if r.Stream != "stdout" {
			t.Fatalf("stderr line with Stdout only: %v", r)
		}
	}
}

func TestWriterRotation(t *testing.T) {
	p := newLog(t)
	entryLen := len(appendEntry(nil, "stdout", []byte("line 000\n"), t0))
	// Four entries per file.
	w := newWriter(t, p, Options{MaxSize: int64(4 * entryLen), MaxFiles: 3})
	for i := range 30 {
		mustWrite(t, w, "stdout", fmt.Sprintf("line %03d\n", i), t0)
	}
	for _, name := range []string{p, p + ".1", p + ".2"} {
		st, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > int64(4*entryLen) {
			t.Errorf("%s: %d bytes, over MaxSize %d", name, st.Size(), 4*entryLen)
		}
	}
	if _, err := os.Stat(p + ".3"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s.3 exists: MaxFiles 3 keeps 3 files", p)
	}
	// 30 lines, 4 per file: the live file has 2 (28, 29), .1 24-27, .2 20-23.
	got := readAll(t, p, ReadOptions{Tail: -1})
	var want string
	for i := 20; i < 30; i++ {
		want += fmt.Sprintf("line %03d\n", i)
	}
	if joined(got) != want {
		t.Fatalf("got %q\nwant %q", joined(got), want)
	}
	// Tail across files.
	if got := joined(readAll(t, p, ReadOptions{Tail: 7})); got != want[len(want)-7*9:] {
		t.Fatalf("tail 7: %q", got)
	}
}

func TestWriterRotationBigWrite(t *testing.T) {
	// One Write of many lines rotates in the middle of it.
	p := newLog(t)
	w := newWriter(t, p, Options{MaxSize: 1000, MaxFiles: 5})
	var b strings.Builder
	for i := range 60 {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	mustWrite(t, w, "stderr", b.String(), t0)
	got := joined(readAll(t, p, ReadOptions{Tail: -1}))
	if !strings.HasSuffix(b.String(), got) || len(got) < 300 {
		t.Fatalf("read %d bytes, not a suffix of what was written", len(got))
	}
}

func TestWriterMaxFilesOne(t *testing.T) {
	p := newLog(t)
	w := newWriter(t, p, Options{MaxSize: 500, MaxFiles: 1})
	for i := range 50 {
		mustWrite(t, w, "stdout", fmt.Sprintf("line %d\n", i), t0)
	}
	if _, err := os.Stat(p + ".1"); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("MaxFiles 1 kept a rotated file")
	}
	st, _ := os.Stat(p)
	if st.Size() > 500 {
		t.Fatalf("size %d over 500", st.Size())
	}
	got := readAll(t, p, ReadOptions{Tail: -1})
	if len(got) == 0 || got[len(got)-1].Line != "line 49\n" {
		t.Fatalf("got %v", got)
	}
}

func TestWriterUnlimited(t *testing.T) {
	p := newLog(t)
	w := newWriter(t, p, Options{MaxSize: -1})
	for range 100 {
		mustWrite(t, w, "stdout", strings.Repeat("y", 100)+"\n", t0)
	}
	if _, err := os.Stat(p + ".1"); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("rotated without a MaxSize")
	}
}

func TestWriterBadInput(t *testing.T) {
	p := newLog(t)
	if _, err := NewWriter(p, Options{MaxFiles: -1}); err == nil {
		t.Error("MaxFiles -1 accepted")
	}
	if _, err := NewWriter(p+"/no/such/dir", Options{}); err == nil {
		t.Error("missing directory accepted")
	}
	w := newWriter(t, p, Options{})
	if err := w.Write("stdin", []byte("x\n"), t0); err == nil {
		t.Error("stream stdin accepted")
	}
	if err := w.Write("stdout", []byte("x\n"), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil {
		t.Error("year 10000 accepted")
	}
	if err := w.Write("stdout", nil, t0); err != nil {
		t.Errorf("empty write: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := w.Write("stdout", []byte("x\n"), t0); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	if err := w.Flush(); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close: %v", err)
	}
}

func TestWriterRepairsTornFile(t *testing.T) {
	// A crash left half an entry: the next entry must not be glued to it.
	p := newLog(t)
	good := string(appendEntry(nil, "stdout", []byte("before\n"), t0))
	if err := os.WriteFile(p, []byte(good+`{"log":"tor`), 0o640); err != nil {
		t.Fatal(err)
	}
	w := newWriter(t, p, Options{})
	mustWrite(t, w, "stdout", "after\n", t0)
	if got := joined(readAll(t, p, ReadOptions{Tail: -1})); got != "before\nafter\n" {
		t.Fatalf("got %q", got)
	}
}

func TestWriterUnicode(t *testing.T) {
	p := newLog(t)
	w := newWriter(t, p, Options{})
	in := "héllo 世界 🐳 \u2028 <&> \x00\x1b[31mred\x1b[0m bad:\xff\xc3\n"
	mustWrite(t, w, "stdout", in, t0)
	got := readAll(t, p, ReadOptions{Tail: -1})
	if len(got) != 1 || got[0].Line != string([]rune(in)) {
		t.Fatalf("got %q, want %q", got, string([]rune(in)))
	}
	// A multi-byte character cut by the 16K split is replaced in each
	// piece, as in Docker's files.
	line := strings.Repeat("a", MaxLine-1) + "é\n"
	mustWrite(t, w, "stdout", line, t0)
	got = readAll(t, p, ReadOptions{Tail: 2})
	if len(got) != 2 || got[0].Line != strings.Repeat("a", MaxLine-1)+"\ufffd" || got[1].Line != "\ufffd\n" {
		t.Fatalf("split é: got %d lines", len(got))
	}
}

func TestParseOptions(t *testing.T) {
	for _, c := range []struct {
		in   map[string]string
		want Options
		bad  bool
	}{
		{nil, Options{}, false},
		{map[string]string{"max-size": "10m", "max-file": "5"}, Options{MaxSize: 10 << 20, MaxFiles: 5}, false},
		{map[string]string{"max-size": "512k"}, Options{MaxSize: 512 << 10}, false},
		{map[string]string{"max-size": "1.5g"}, Options{MaxSize: 3 << 29}, false},
		{map[string]string{"max-size": "100"}, Options{MaxSize: 100}, false},
		{map[string]string{"max-size": "2MiB"}, Options{MaxSize: 2 << 20}, false},
		{map[string]string{"max-size": "2 mb"}, Options{MaxSize: 2 << 20}, false},
		{map[string]string{"max-size": "-1"}, Options{MaxSize: -1}, false},
		{map[string]string{"max-size": "-1", "max-file": "2"}, Options{}, true},
		{map[string]string{"max-size": "12x"}, Options{}, true},
		{map[string]string{"max-size": ""}, Options{}, true},
		{map[string]string{"max-size": "0"}, Options{}, true},
		{map[string]string{"max-size": ".5m"}, Options{}, true},
		{map[string]string{"max-size": "99999999999p"}, Options{}, true},
		{map[string]string{"max-file": "0"}, Options{}, true},
		{map[string]string{"max-file": "x"}, Options{}, true},
		{map[string]string{"compress": "true"}, Options{}, true},
	} {
		got, err := ParseOptions(c.in)
		if (err != nil) != c.bad {
			t.Errorf("%v: err %v", c.in, err)
			continue
		}
		if !c.bad && got != c.want {
			t.Errorf("%v: got %+v, want %+v", c.in, got, c.want)
		}
	}
}
