package logs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// writeLines writes n stdout lines "line i\n" at t0+i seconds.
func writeLines(t *testing.T, w *Writer, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		mustWrite(t, w, "stdout", fmt.Sprintf("line %d\n", i), t0.Add(time.Duration(i)*time.Second))
	}
}

func lines(from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	return b.String()
}

func TestReadSinceUntilTail(t *testing.T) {
	p := newLog(t)
	w := newWriter(t, p, Options{MaxSize: 700, MaxFiles: 10})
	writeLines(t, w, 0, 50)
	if _, err := os.Stat(p + ".3"); err != nil {
		t.Fatalf("expected several rotated files: %v", err)
	}
	sec := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }
	for _, c := range []struct {
		name string
		o    ReadOptions
		want string
	}{
		{"all", ReadOptions{Tail: -1}, lines(0, 50)},
		{"tail 0", ReadOptions{Tail: 0}, ""},
		{"tail 1", ReadOptions{Tail: 1}, lines(49, 50)},
		{"tail 23 across files", ReadOptions{Tail: 23}, lines(27, 50)},
		{"tail more than there is", ReadOptions{Tail: 1000}, lines(0, 50)},
		{"since inclusive", ReadOptions{Tail: -1, Since: sec(45)}, lines(45, 50)},
		{"until inclusive", ReadOptions{Tail: -1, Until: sec(4)}, lines(0, 5)},
		{"since until", ReadOptions{Tail: -1, Since: sec(10), Until: sec(19)}, lines(10, 20)},
		{"tail counts filtered lines", ReadOptions{Tail: 3, Until: sec(19)}, lines(17, 20)},
		{"tail with since", ReadOptions{Tail: 30, Since: sec(40)}, lines(40, 50)},
		{"stderr only", ReadOptions{Tail: -1, Stderr: true}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := joined(readAll(t, p, c.o)); got != c.want {
				t.Fatalf("got %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestReadTimestamps(t *testing.T) {
	p := newLog(t)
	w := newWriter(t, p, Options{})
	mustWrite(t, w, "stdout", "hi\n", t0)
	got := readAll(t, p, ReadOptions{Tail: -1, Timestamps: true})
	if len(got) != 1 || got[0].Line != "2026-11-27T02:42:13.123456789Z hi\n" || !got[0].Time.Equal(t0) {
		t.Fatalf("got %q", got)
	}
}

func TestReadMissing(t *testing.T) {
	if got := readAll(t, newLog(t), ReadOptions{Tail: -1}); len(got) != 0 {
		t.Fatalf("got %v", got)
	}
	if err := Read(context.Background(), newLog(t), ReadOptions{}, nil); err == nil {
		t.Fatal("nil out accepted")
	}
}

func TestReadOutError(t *testing.T) {
	p := newLog(t)
	w := newWriter(t, p, Options{})
	writeLines(t, w, 0, 10)
	stop := errors.New("enough")
	n := 0
	for _, tail := range []int{-1, 5} {
		n = 0
		err := Read(context.Background(), p, ReadOptions{Tail: tail}, func(string, time.Time, []byte) error {
			n++
			if n == 3 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || n != 3 {
			t.Fatalf("tail %d: err %v after %d lines", tail, err, n)
		}
	}
}

func TestReadMalformed(t *testing.T) {
	p := newLog(t)
	good := func(s string, i int) string {
		return string(appendEntry(nil, "stdout", []byte(s), t0.Add(time.Duration(i))))
	}
	content := good("a\n", 0) +
		"garbage\n" +
		"\n" +
		`{"log":"no time\n","stream":"stdout"}` + "\n" +
		`{"log":"bad stream\n","stream":"stdin","time":"2026-11-27T02:42:13Z"}` + "\n" +
		`{"log":"bad time\n","stream":"stdout","time":"yesterday"}` + "\n" +
		`{"log":1,"stream":"stdout","time":"2026-11-27T02:42:13Z"}` + "\n" +
		`[1,2,3]` + "\n" +
		good("b\n", 1) +
		`{"log":"with attrs\n","stream":"stderr","attrs":{"k":"v"},"time":"2026-11-27T02:42:13Z"}` + "\n" +
		strings.Repeat("z", 3*maxEntry) + "\n" + // overlong: skipped, not held
		good("c\n", 2) +
		`{"log":"torn by a cr` // the last line of a crashed writer
	// The same content as a rotated file and as the live file.
	if err := os.WriteFile(p+".1", []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
	want := "a\nb\nwith attrs\nc\n"
	if got := joined(readAll(t, p, ReadOptions{Tail: -1})); got != want+want {
		t.Fatalf("forward: got %q", got)
	}
	if got := joined(readAll(t, p, ReadOptions{Tail: 100})); got != want+want {
		t.Fatalf("tail: got %q", got)
	}
	if got := joined(readAll(t, p, ReadOptions{Tail: 5})); got != "c\n"+want {
		t.Fatalf("tail 5: got %q", got)
	}
}

func TestReadCRLFAndEmptyText(t *testing.T) {
	p := newLog(t)
	w := newWriter(t, p, Options{})
	mustWrite(t, w, "stdout", "dos\r\n\n\n", t0)
	if got := joined(readAll(t, p, ReadOptions{Tail: -1})); got != "dos\r\n\n\n" {
		t.Fatalf("got %q", got)
	}
	if got := joined(readAll(t, p, ReadOptions{Tail: 2})); got != "\n\n" {
		t.Fatalf("tail: got %q", got)
	}
}

func TestReadCancelled(t *testing.T) {
	p := newLog(t)
	w := newWriter(t, p, Options{})
	writeLines(t, w, 0, 5000)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Read(ctx, p, ReadOptions{Tail: -1}, func(string, time.Time, []byte) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
}

func TestScanBackward(t *testing.T) {
	for _, content := range []string{
		"", "\n", "a", "a\n", "a\nb", "a\nb\n", "\n\n", "a\n\nb\n",
		strings.Repeat("x", readChunk-1) + "\n" + strings.Repeat("y", readChunk+5) + "\nz\n",
	} {
		var got []string
		r := strings.NewReader(content)
		if err := scanBackward(r, int64(len(content)), func(l []byte) bool {
			got = append(got, string(l))
			return true
		}); err != nil {
			t.Fatal(err)
		}
		var want []string
		if content != "" {
			parts := strings.Split(strings.TrimSuffix(content, "\n"), "\n")
			for i := len(parts) - 1; i >= 0; i-- {
				if i == 0 && parts[i] == "" {
					continue // an empty first line is not handed out
				}
				want = append(want, parts[i])
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%.20q: got %.60q, want %.60q", content, got, want)
		}
	}
}

func TestLineReaderOverlong(t *testing.T) {
	content := "a\n" + strings.Repeat("x", 2*maxEntry+3) + "\nb\n" + strings.Repeat("y", maxEntry+1)
	lr := lineReader{f: strings.NewReader(content), limit: -1}
	var got []string
	for {
		l, ok, err := lr.next()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		got = append(got, string(l))
	}
	if fmt.Sprint(got) != "[a b]" || lr.skipped != 2 || len(lr.buf) > maxEntry {
		t.Fatalf("got %q, skipped %d, buffer %d", got, lr.skipped, len(lr.buf))
	}
}
