package main

import (
	"bytes"
	"testing"
)

func TestParseDetachKeys(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []byte
	}{
		{"", []byte{0x10, 0x11}},
		{"ctrl-p,ctrl-q", []byte{0x10, 0x11}},
		{"ctrl-x,y", []byte{0x18, 'y'}},
		{"ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_", []byte{0, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f}},
		{"DEL,a,,", nil},
		{"DEL,a", []byte{0x7f, 'a'}},
		{"a", []byte{'a'}},
	} {
		got, err := parseDetachKeys(c.in)
		if c.want == nil {
			if err == nil {
				t.Errorf("%q: %v, want an error", c.in, got)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, c.want) {
			t.Errorf("%q: %v %v, want %v", c.in, got, err, c.want)
		}
	}
	// Hostile or mistyped: an error, never a panic or a silent drop.
	for _, in := range []string{"ctrl-", "ctrl-P", "ctrl-1", "ctrl-pq", "ctrl-p,", ",", "foo", "del", "ctrl-\x00", "\xff\xfe", " ctrl-p"} {
		if got, err := parseDetachKeys(in); err == nil {
			t.Errorf("%q: %v, want an error", in, got)
		}
	}
}

// detach runs the reads through a detacher and returns what the container
// got and whether it detached.
func detach(keys []byte, reads ...string) (string, bool) {
	d := detacher{keys: keys}
	var out []byte
	for _, r := range reads {
		data, done := d.feed([]byte(r))
		out = append(out, data...)
		if done {
			return string(out), true
		}
	}
	return string(out) + string(d.held), false
}

func TestDetacher(t *testing.T) {
	pq := []byte{0x10, 0x11}
	for _, c := range []struct {
		reads    []string
		want     string
		detached bool
	}{
		{[]string{"ls\r"}, "ls\r", false},
		{[]string{"ls\r\x10\x11"}, "ls\r", true},
		{[]string{"ab\x10", "\x11cd"}, "ab", true},
		{[]string{"\x10", "a"}, "\x10a", false},
		{[]string{"\x10", "\x10", "\x11"}, "\x10", true},
		{[]string{"\x10\x10\x11"}, "\x10", true},
		{[]string{"x\x11\x10"}, "x\x11\x10", false},
	} {
		got, detached := detach(pq, c.reads...)
		if got != c.want || detached != c.detached {
			t.Errorf("%q: %q %v, want %q %v", c.reads, got, detached, c.want, c.detached)
		}
	}
	// Three keys split every way.
	keys := []byte("\x18yz")
	if got, d := detach(keys, "a\x18", "y", "zb"); got != "a" || !d {
		t.Errorf("split keys: %q %v", got, d)
	}
	if got, d := detach(keys, "a\x18", "y", "b"); got != "a\x18yb" || d {
		t.Errorf("broken keys: %q %v", got, d)
	}
	// No keys (no terminal): everything passes.
	if got, d := detach(nil, "\x10\x11"); got != "\x10\x11" || d {
		t.Errorf("no keys: %q %v", got, d)
	}
}

// FuzzDetacher: whatever the input and however it is split, the container
// gets exactly the input up to the first occurrence of the keys (all of
// it when they do not occur).
func FuzzDetacher(f *testing.F) {
	f.Add("ctrl-p,ctrl-q", []byte("ls\r\x10\x11"), uint8(3))
	f.Add("ctrl-x,y", []byte("\x18\x18y"), uint8(1))
	f.Add("a", []byte("bbb"), uint8(0))
	f.Fuzz(func(t *testing.T, spec string, input []byte, step uint8) {
		keys, err := parseDetachKeys(spec)
		if err != nil {
			return
		}
		want, wantDetached := input, false
		if i := bytes.Index(input, keys); i >= 0 && len(keys) > 0 {
			want, wantDetached = input[:i], true
		}
		n := int(step)%8 + 1
		var reads []string
		for len(input) > 0 {
			k := min(n, len(input))
			reads = append(reads, string(input[:k]))
			input = input[k:]
		}
		got, detached := detach(keys, reads...)
		if got != string(want) || detached != wantDetached {
			t.Fatalf("keys %q reads %q: %q %v, want %q %v", keys, reads, got, detached, want, wantDetached)
		}
	})
}
