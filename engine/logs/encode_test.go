package logs

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 27, 2, 42, 13, 123456789, time.UTC)

func TestAppendEntryDockerLine(t *testing.T) {
	// A line as Docker 28's json-file driver writes it.
	const want = `{"log":"hello world\n","stream":"stdout","time":"2026-11-27T02:42:13.123456789Z"}` + "\n"
	if got := string(appendEntry(nil, "stdout", []byte("hello world\n"), t0)); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestAppendEntryTime(t *testing.T) {
	for _, c := range []struct {
		t    time.Time
		want string
	}{
		// RFC3339Nano trims trailing zeros, as Docker's files do.
		{time.Date(2026, 1, 2, 3, 4, 5, 120000000, time.UTC), `"2026-01-02T03:04:05.12Z"`},
		{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), `"2026-01-02T03:04:05Z"`},
		// Always UTC.
		{time.Date(2026, 1, 2, 5, 4, 5, 1, time.FixedZone("x", 2*3600)), `"2026-01-02T03:04:05.000000001Z"`},
	} {
		got := string(appendEntry(nil, "stderr", []byte("x"), c.t))
		if !strings.HasSuffix(got, `"time":`+c.want+"}\n") {
			t.Errorf("%v: got %s, want time %s", c.t, got, c.want)
		}
	}
}

func TestAppendStringEscapes(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", `""`},
		{"a\"b\\c", `"a\"b\\c"`},
		{"\n\r\t\x00\x1f\x7f", `"\n\r\u0009\u0000\u001f` + "\x7f" + `"`},
		{"<a> & b", `"\u003ca\u003e \u0026 b"`},
		{"\u2028 \u2029", `"\u2028 \u2029"`},
		{"héllo 世界 🐳", `"héllo 世界 🐳"`},
		{"bad \xff\xfe end \xe2\x82", `"bad \ufffd\ufffd end \ufffd\ufffd"`},
	} {
		got := string(appendString(nil, []byte(c.in)))
		if got != c.want {
			t.Errorf("appendString(%q) = %s, want %s", c.in, got, c.want)
		}
		// encoding/json reads back what it would have written itself.
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Errorf("%s: %v", got, err)
		} else if want := string([]rune(c.in)); back != want {
			t.Errorf("decode %s = %q, want %q", got, back, want)
		}
	}
}

func TestAppendTimestamp(t *testing.T) {
	got := string(AppendTimestamp([]byte("x"), time.Date(2026, 11, 27, 2, 42, 13, 100000000, time.FixedZone("y", 3600))))
	if want := "x2026-11-27T01:42:13.100000000Z "; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestFastDecodeMatchesWriter(t *testing.T) {
	in := "héllo\t<&> \x00\x1b[1m \u2028 \xff\n"
	line := appendEntry(nil, "stderr", []byte(in), t0)
	var e entry
	if !fastDecode(line[:len(line)-1], &e) {
		t.Fatalf("fast path refused the Writer's line %s", line)
	}
	if string(e.Log) != string([]rune(in)) || e.Stream != "stderr" || !e.Time.Equal(t0) {
		t.Fatalf("got %q %s %v", e.Log, e.Stream, e.Time)
	}
	// Shapes left to encoding/json still decode.
	for _, l := range []string{
		`{"stream":"stdout","log":"reordered\n","time":"2026-11-27T02:42:13Z"}`,
		`{"log":"lone \ud800","stream":"stdout","time":"2026-11-27T02:42:13Z"}`,
		`{ "log": "spaces", "stream": "stdout", "time": "2026-11-27T02:42:13Z" }`,
	} {
		if fastDecode([]byte(l), &e) {
			t.Errorf("fast path took %s", l)
		}
		if err := decodeEntry([]byte(l), &e); err != nil {
			t.Errorf("%s: %v", l, err)
		}
	}
}
