package container

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// statLine builds a /proc/<pid>/stat line for comm, state and start time
// (field 22), with plausible values elsewhere.
func statLine(pid int, comm string, state byte, start uint64) string {
	// Fields 4 to 21, then 22 (starttime), then the rest.
	mid := "1 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0"
	rest := "12345678 456 18446744073709551615 1 1 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0"
	return fmt.Sprintf("%d (%s) %c %s %d %s\n", pid, comm, state, mid, start, rest)
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name  string
		line  string
		state byte
		start uint64
	}{
		{"plain", statLine(42, "sh", 'S', 123456), 'S', 123456},
		{"running", statLine(1, "init", 'R', 1), 'R', 1},
		{"zombie", statLine(7, "true", 'Z', 99), 'Z', 99},
		{"comm with spaces", statLine(7, "my prog", 'S', 5), 'S', 5},
		{"comm with parentheses", statLine(7, "a) b (c", 'D', 77), 'D', 77},
		// A process can name itself to look like more fields; the last ')'
		// is the real end of comm.
		{"comm forging fields", statLine(7, "x) Z 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 0 0 1 0 666 (", 'S', 4242), 'S', 4242},
		{"comm of only parentheses", statLine(7, ")))", 'T', 8), 'T', 8},
		{"empty comm", statLine(7, "", 'I', 9), 'I', 9},
		{"comm with newline", statLine(7, "a\nb", 'S', 10), 'S', 10},
		{"largest start time", statLine(7, "x", 'S', 18446744073709551615), 'S', 18446744073709551615},
		{"exactly 22 fields", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 0 0 1 0 31337", 'S', 31337},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := parseStat([]byte(tc.line))
			if err != nil {
				t.Fatalf("parseStat(%q): %v", tc.line, err)
			}
			if st.state != tc.state || st.startTime != tc.start {
				t.Fatalf("parseStat(%q) = state %c start %d, want %c %d", tc.line, st.state, st.startTime, tc.state, tc.start)
			}
		})
	}
}

func TestParseStatErrors(t *testing.T) {
	for _, line := range []string{
		"",
		"1",
		"1 (x",
		"1 (x)",
		"1 (x) ",
		"1 (x) S",
		"1 (x) S 1 2 3",
		"1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 0 0 1 0",                      // starttime missing
		"1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 0 0 1 0 -5",                   // negative
		"1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 0 0 1 0 abc",                  // not a number
		"1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 0 0 1 0 18446744073709551616", // overflows
		")",
		"))",
		strings.Repeat(")", 100),
	} {
		if st, err := parseStat([]byte(line)); err == nil {
			t.Errorf("parseStat(%q) = %+v, want an error", line, st)
		}
	}
}

func TestReadStatSelf(t *testing.T) {
	st, err := readStat(os.Getpid())
	if err != nil {
		t.Fatalf("readStat(self): %v", err)
	}
	if st.state != 'R' && st.state != 'S' {
		t.Errorf("own state %c", st.state)
	}
	if st.startTime == 0 {
		t.Error("own start time is 0")
	}
	if !alive(os.Getpid(), st.startTime) || !alive(os.Getpid(), 0) {
		t.Error("the test process is not alive")
	}
	if alive(os.Getpid(), st.startTime+1) {
		t.Error("a different start time (a recycled pid) counts as alive")
	}
	if alive(-1, 0) || alive(1<<30, 0) {
		t.Error("a pid that does not exist counts as alive")
	}
}

// FuzzParseStat: parseStat never panics on any content, and reads the
// state and start time of well-formed lines whatever the command name.
func FuzzParseStat(f *testing.F) {
	f.Add([]byte(statLine(42, "sh", 'S', 123456)), "sh", uint64(1))
	f.Add([]byte("1 (x) S"), "x) Z 1 (", uint64(0))
	f.Add([]byte(")"), ")", uint64(1<<63))
	f.Add([]byte(""), "", uint64(5))
	f.Add([]byte("1 (a) \x00 1 2"), "\n", uint64(7))
	f.Fuzz(func(t *testing.T, raw []byte, comm string, start uint64) {
		if st, err := parseStat(raw); err == nil && st.state == 0 && len(raw) == 0 {
			t.Fatalf("empty stat accepted: %+v", st)
		}
		// The kernel truncates comm to 15 bytes; here any comm works, as
		// long as it does not end the line early.
		line := statLine(1, comm, 'S', start)
		st, err := parseStat([]byte(line))
		if err != nil {
			t.Fatalf("parseStat(%q): %v", line, err)
		}
		if st.state != 'S' || st.startTime != start {
			t.Fatalf("parseStat(%q) = %c %d, want S %d", line, st.state, st.startTime, start)
		}
	})
}
