package monitor

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"berth/internal/cbuild"
)

// buildFrameMonitor compiles the C monitor for its --frame-test mode,
// with AddressSanitizer and UBSan when the compiler has them (a read past
// the input then kills it), else as the Makefile does.
func buildFrameMonitor(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	bin := filepath.Join(dir, "berth-monitor")
	if src, err := cbuild.Source("berth-monitor"); err == nil {
		files, _ := filepath.Glob(filepath.Join(src, "*.c"))
		cc := os.Getenv("CC")
		if cc == "" {
			cc = "cc"
		}
		args := append([]string{"-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
			"-fno-omit-frame-pointer", "-o", bin}, files...)
		if len(files) > 0 && exec.Command(cc, args...).Run() == nil {
			return bin
		}
	}
	if err := cbuild.Build(bin, "berth-monitor"); err != nil {
		tb.Skip(err) // no C compiler
	}
	return bin
}

// cFrames runs the C parser on b, fed chunk bytes at a time.
func cFrames(tb testing.TB, bin string, b []byte, chunk int) string {
	tb.Helper()
	cmd := exec.Command(bin, "--frame-test", strconv.Itoa(chunk))
	cmd.Stdin = bytes.NewReader(b)
	cmd.Env = append(os.Environ(), "ASAN_OPTIONS=detect_leaks=0:abort_on_error=0", "UBSAN_OPTIONS=halt_on_error=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		tb.Fatalf("the C frame parser failed on %x (chunk %d): %v\n%s", b, chunk, err, errb.String())
	}
	return out.String()
}

// goFrames is what ReadFrame makes of b, in the C test mode's words.
func goFrames(b []byte) string {
	var sb strings.Builder
	r := bytes.NewReader(b)
	for {
		left := r.Len()
		kind, data, err := ReadFrame(r)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				fmt.Fprintf(&sb, "END %d\n", left)
			} else {
				sb.WriteString("BAD\n")
			}
			return sb.String()
		}
		fmt.Fprintf(&sb, "F %d %d %s\n", kind, len(data), hex.EncodeToString(data))
	}
}

// frame builds one frame with a length that may lie.
func frame(kind byte, n uint32, data string) []byte {
	return append([]byte{kind, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, data...)
}

func frameSeeds() [][]byte {
	big := bytes.Repeat([]byte{'x'}, maxFrame)
	return [][]byte{
		nil,
		{0},
		frame(FrameStdin, 0, ""),
		frame(FrameStdin, 2, "hi"),
		append(frame(FrameResize, 4, "\x00\x18\x00\x50"), frame(FrameStdin, 3, "abc")...),
		frame(FrameStdin, 9, "x"),           // truncated
		frame(FrameStdin, 0xffffffff, "ab"), // oversized
		frame(FrameStdin, maxFrame+1, ""),   // just over
		append(frame(FrameStdin, maxFrame, ""), big...),
		append(frame(9, 1, "z"), frame(FrameStdin, 0x80000000, "")...),
	}
}

// TestCFrameParser: the C monitor's frame parser agrees with ReadFrame on
// well-formed, truncated and oversized frames, whatever the reads' sizes.
func TestCFrameParser(t *testing.T) {
	bin := buildFrameMonitor(t)
	for _, b := range frameSeeds() {
		want := goFrames(b)
		for _, chunk := range []int{1, 4, 5, 7, 4096, 1 << 21} {
			if len(b) > 64<<10 && chunk < 4096 {
				continue // a frame a byte at a time is slow, not different
			}
			if got := cFrames(t, bin, b, chunk); got != want {
				t.Errorf("input %.40x (chunk %d): C parsed\n%.200s\nReadFrame\n%.200s", b, chunk, got, want)
			}
		}
	}
}

// FuzzCFrameParser: the C monitor's frame parser never crashes or reads
// past its input (sanitizers on) and agrees with ReadFrame.
func FuzzCFrameParser(f *testing.F) {
	bin := buildFrameMonitor(f)
	for _, b := range frameSeeds() {
		if len(b) < 4096 {
			f.Add(b, uint16(3))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, chunk uint16) {
		c := 1 + int(chunk)%1024
		if got, want := cFrames(t, bin, b, c), goFrames(b); got != want {
			t.Errorf("input %x (chunk %d): C parsed\n%s\nReadFrame\n%s", b, c, got, want)
		}
	})
}
