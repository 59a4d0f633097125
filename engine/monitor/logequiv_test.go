package monitor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"berth/engine/logs"
	"berth/internal/cbuild"
)

// logOp is one call on a log writer: a write of data to stream (0
// stdout, 1 stderr) at t, or a flush.
type logOp struct {
	flush  bool
	stream int
	t      time.Time
	data   []byte
}

// buildMonitor compiles the C monitor once per test.
func buildMonitor(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "berth-monitor")
	if err := cbuild.Build(bin, "berth-monitor"); err != nil {
		t.Skip(err) // no C compiler: nothing to compare
	}
	return bin
}

// cLog runs ops through the C monitor's log writer (--log-test).
func cLog(t *testing.T, bin, path string, maxSize int64, maxFiles int, ops []logOp) {
	t.Helper()
	var in bytes.Buffer
	for _, op := range ops {
		if op.flush {
			in.WriteByte('f')
			continue
		}
		in.WriteByte("oe"[op.stream])
		var h [16]byte
		binary.LittleEndian.PutUint64(h[0:], uint64(op.t.Unix()))
		binary.LittleEndian.PutUint32(h[8:], uint32(op.t.Nanosecond()))
		binary.LittleEndian.PutUint32(h[12:], uint32(len(op.data)))
		in.Write(h[:])
		in.Write(op.data)
	}
	cmd := exec.Command(bin, "--log-test", path, strconv.FormatInt(maxSize, 10), strconv.Itoa(maxFiles))
	cmd.Stdin = &in
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("C log writer: %v: %s", err, out)
	}
}

// goLog runs ops through engine/logs's Writer.
func goLog(t *testing.T, path string, maxSize int64, maxFiles int, ops []logOp) {
	t.Helper()
	w, err := logs.NewWriter(path, logs.Options{MaxSize: maxSize, MaxFiles: maxFiles})
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range ops {
		if op.flush {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := w.Write([]string{"stdout", "stderr"}[op.stream], op.data, op.t); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// compareLogs runs ops through both writers and compares every file.
func compareLogs(t *testing.T, bin string, maxSize int64, maxFiles int, ops []logOp) {
	t.Helper()
	cdir, godir := t.TempDir(), t.TempDir()
	cLog(t, bin, filepath.Join(cdir, "container.log"), maxSize, maxFiles, ops)
	goLog(t, filepath.Join(godir, "container.log"), maxSize, maxFiles, ops)
	names := []string{"container.log"}
	for i := 1; i <= 5; i++ {
		names = append(names, "container.log."+strconv.Itoa(i))
	}
	for _, n := range names {
		cb, cerr := os.ReadFile(filepath.Join(cdir, n))
		gb, gerr := os.ReadFile(filepath.Join(godir, n))
		if os.IsNotExist(cerr) != os.IsNotExist(gerr) {
			t.Fatalf("%s: C %v, Go %v", n, cerr, gerr)
		}
		if !bytes.Equal(cb, gb) {
			i := 0
			for i < len(cb) && i < len(gb) && cb[i] == gb[i] {
				i++
			}
			lo := max(0, i-80)
			t.Fatalf("%s differs at byte %d (C %d bytes, Go %d):\nC:  %q\nGo: %q", n, i, len(cb), len(gb),
				cb[lo:min(len(cb), i+80)], gb[lo:min(len(gb), i+80)])
		}
	}
}

// TestLogEquivalence checks that the C monitor writes the json-file log
// byte for byte as engine/logs does, hostile output included.
func TestLogEquivalence(t *testing.T) {
	bin := buildMonitor(t)
	t0 := time.Date(2026, 11, 27, 4, 40, 1, 123456789, time.UTC)
	at := func(ns int) time.Time { return t0.Add(time.Duration(ns)) }
	long := bytes.Repeat([]byte("abcdefghij"), 10<<10) // 100 KiB, no newline
	var all []byte
	for i := 0; i < 256; i++ {
		all = append(all, byte(i))
	}
	hostile := [][]byte{
		[]byte("hello\n"),
		[]byte("a\x00b\x00\n"),
		[]byte("bad \xff\xfe utf8 \xc3\x28 \xe2\x82 \xf0\x9f\x98 \xed\xa0\x80 \xf4\x90\x80\x80 \xc0\xaf\n"),
		[]byte("cr\r\nonly cr\r"),
		[]byte("ctl \x01\x02\x07\x08\t\x0b\x0c\x1b[31m\x7f\n"),
		[]byte("html <b>&amp;</b> \"q\" \\ \u2028 \u2029 é 日本 😀\n"),
		all,
		[]byte("\n"),
		long,
		[]byte("tail of the long line\n"),
		append(bytes.Repeat([]byte("x"), logs.MaxLine-1), '\n'),
		bytes.Repeat([]byte("y"), logs.MaxLine),
		[]byte("\n"),
		append(bytes.Repeat([]byte("z"), logs.MaxLine), '\n'),
	}
	var ops []logOp
	for i, h := range hostile {
		ops = append(ops, logOp{stream: i % 2, t: at(i * 1000), data: h})
	}
	// Times whose fractions end in zeros, and a whole second.
	ops = append(ops, logOp{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), data: []byte("whole\n")},
		logOp{t: time.Date(2026, 1, 2, 3, 4, 5, 100000000, time.UTC), data: []byte("tenth\n")},
		logOp{t: time.Date(2026, 1, 2, 3, 4, 5, 120000, time.UTC), data: []byte("unfinished")},
		logOp{stream: 1, t: t0, data: []byte("half")},
		logOp{flush: true})
	for _, c := range []struct {
		size  int64
		files int
	}{{0, 0}, {-1, 1}, {4096, 3}, {1000, 1}, {50000, 2}, {300, 5}} {
		t.Run(strconv.FormatInt(c.size, 10)+"/"+strconv.Itoa(c.files), func(t *testing.T) {
			compareLogs(t, bin, c.size, c.files, ops)
		})
	}
	// Random pieces of random bytes, newlines frequent.
	rng := rand.New(rand.NewSource(1))
	var rops []logOp
	for i := 0; i < 400; i++ {
		n := rng.Intn(3000)
		if rng.Intn(20) == 0 {
			n = rng.Intn(40 << 10)
		}
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(rng.Intn(256))
			if rng.Intn(60) == 0 {
				b[j] = '\n'
			}
		}
		rops = append(rops, logOp{stream: rng.Intn(2), t: at(rng.Intn(5) * 1000000 * i), data: b})
		if rng.Intn(50) == 0 {
			rops = append(rops, logOp{flush: true})
		}
	}
	t.Run("random", func(t *testing.T) { compareLogs(t, bin, 64<<10, 3, rops) })
	// A log left with a torn last line is repaired the same way.
	t.Run("torn", func(t *testing.T) {
		cdir, godir := t.TempDir(), t.TempDir()
		for _, d := range []string{cdir, godir} {
			if err := os.WriteFile(filepath.Join(d, "container.log"), []byte(`{"log":"torn`), 0o640); err != nil {
				t.Fatal(err)
			}
		}
		ops := []logOp{{t: t0, data: []byte("after\n")}}
		cLog(t, bin, filepath.Join(cdir, "container.log"), 0, 0, ops)
		goLog(t, filepath.Join(godir, "container.log"), 0, 0, ops)
		cb, _ := os.ReadFile(filepath.Join(cdir, "container.log"))
		gb, _ := os.ReadFile(filepath.Join(godir, "container.log"))
		if !bytes.Equal(cb, gb) {
			t.Errorf("C %q, Go %q", cb, gb)
		}
	})
}

// TestMonitorBadArgs: a bad command line is refused with a usage error,
// never a crash.
func TestMonitorBadArgs(t *testing.T) {
	bin := buildMonitor(t)
	dir := t.TempDir()
	for _, args := range [][]string{
		{},
		{"--id"},
		{"--id", "x", dir},
		{"--id", "x", "--runtime", "/bin/false", dir},
		{"--id", "x", "--runtime", "/bin/false", "--runtime-root", dir, "relative"},
		{"--id", "a/b", "--runtime", "/bin/false", "--runtime-root", dir, dir},
		{"--id", "x", "--runtime", "/bin/false", "--runtime-root", dir, "--log-max-size", "1e3", dir},
		{"--id", "x", "--runtime", "/bin/false", "--runtime-root", dir, "--log-max-files", "-2", dir},
		{"--id", "x", "--runtime", "/bin/false", "--runtime-root", dir, "--max-retries", "99999999999999999999", dir},
		{"--id", "x", "--runtime", "/bin/false", "--runtime-root", dir, "--label", "=v", dir},
		{"--id", "x", "--runtime", "/bin/false", "--runtime-root", dir, "--bogus", "1", dir},
		{"--id", "x", "--runtime", "/bin/false", "--runtime-root", dir, dir, dir},
		{"--log-test"},
		{"--log-test", filepath.Join(dir, "l"), "x", "1"},
	} {
		cmd := exec.Command(bin, args...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("%q: %v (want exit status 2): %s", args, err, out)
		}
	}
	// Truncated or lying log-test records are refused, not read past.
	for _, in := range []string{"o", "o123456789012345", "e\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff", "x"} {
		cmd := exec.Command(bin, "--log-test", filepath.Join(dir, "l"), "0", "0")
		cmd.Stdin = strings.NewReader(in)
		if out, err := cmd.CombinedOutput(); err == nil && in != "x" {
			t.Errorf("log-test input %q accepted: %s", in, out)
		} else if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() < 0 {
			t.Errorf("log-test input %q crashed the monitor: %v", in, err)
		}
	}
}
