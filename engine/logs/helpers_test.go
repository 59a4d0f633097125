package logs

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rec is one line handed out by Read.
type rec struct {
	Stream string
	Time   time.Time
	Line   string
}

// newLog returns a log path in a fresh test directory.
func newLog(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "ctr-json.log")
}

// jentry is an entry as encoding/json reads it.
type jentry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// fileEntries decodes every line of one file strictly.
func fileEntries(t *testing.T, path string) []jentry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []jentry
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e jentry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%s: bad line %q: %v", path, sc.Text(), err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// readAll runs a Read that does not follow and returns what it handed out.
func readAll(t *testing.T, path string, o ReadOptions) []rec {
	t.Helper()
	var out []rec
	err := Read(context.Background(), path, o, func(s string, tm time.Time, line []byte) error {
		out = append(out, rec{s, tm, string(line)})
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return out
}

// joined concatenates the lines handed out.
func joined(rs []rec) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(r.Line)
	}
	return b.String()
}

// mustWrite writes or fails the test.
func mustWrite(t testing.TB, w *Writer, stream, s string, tm time.Time) {
	t.Helper()
	if err := w.Write(stream, []byte(s), tm); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// newWriter opens a Writer closed at the test's end.
func newWriter(t testing.TB, path string, o Options) *Writer {
	t.Helper()
	w, err := NewWriter(path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}
