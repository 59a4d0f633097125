package logs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// entry is one decoded line of a log file.
type entry struct {
	Log    []byte // reused by the next decode: copy to keep
	Stream string // "stdout" or "stderr"
	Time   time.Time
}

// decodeEntry parses one line of a json-file log (without its '\n') into
// e, reusing e.Log's memory. Lines exactly as the Writer (and Docker)
// writes them take a fast path without reflection; anything else goes
// through encoding/json, which sets the meaning: unknown fields (Docker's
// "attrs") are ignored, and a line without a known stream or a time is
// an error, as it cannot be placed or filtered.
func decodeEntry(line []byte, e *entry) error {
	if fastDecode(line, e) {
		return nil
	}
	return slowDecode(line, e)
}

// slowDecode is decodeEntry through encoding/json.
func slowDecode(line []byte, e *entry) error {
	var j struct {
		Log    string    `json:"log"`
		Stream string    `json:"stream"`
		Time   time.Time `json:"time"`
	}
	if err := json.Unmarshal(line, &j); err != nil {
		return err
	}
	switch j.Stream {
	case "stdout", "stderr":
	default:
		return fmt.Errorf("stream %q: not stdout or stderr", j.Stream)
	}
	if j.Time.IsZero() {
		return errors.New("no time")
	}
	e.Log = append(e.Log[:0], j.Log...)
	e.Stream = streamName(j.Stream)
	e.Time = j.Time
	return nil
}

// streamName returns the constant for a stream, so that decoded entries
// do not hold on to decoded strings.
func streamName(s string) string {
	if s == "stdout" {
		return streams[0]
	}
	return streams[1]
}

// fastDecode decodes the exact shape the Writer writes:
// {"log":"...","stream":"stdout|stderr","time":"..."}, with valid UTF-8
// and no surrogate escapes in the text. It reports false, leaving the
// line to encoding/json, on anything else.
func fastDecode(line []byte, e *entry) bool {
	const pre = `{"log":"`
	if !bytes.HasPrefix(line, []byte(pre)) {
		return false
	}
	rest, ok := unquote(line[len(pre):], e)
	if !ok {
		return false
	}
	switch {
	case bytes.HasPrefix(rest, []byte(`,"stream":"stdout","time":`)):
		e.Stream = streams[0]
	case bytes.HasPrefix(rest, []byte(`,"stream":"stderr","time":`)):
		e.Stream = streams[1]
	default:
		return false
	}
	tm := rest[len(`,"stream":"stdout","time":`):]
	if len(tm) < 3 || tm[0] != '"' || !bytes.HasSuffix(tm, []byte(`"}`)) {
		return false
	}
	tm = tm[:len(tm)-1] // the quoted time
	if bytes.IndexByte(tm[1:len(tm)-1], '"') >= 0 || bytes.IndexByte(tm, '\\') >= 0 {
		return false
	}
	// The same parser encoding/json would call.
	if err := e.Time.UnmarshalJSON(tm); err != nil || e.Time.IsZero() {
		return false
	}
	return true
}

// unquote decodes a JSON string's content from s (after its opening
// quote) into e.Log and returns what follows the closing quote. It
// reports false for what it leaves to encoding/json: invalid UTF-8, raw
// control characters, surrogate escapes, bad escapes.
func unquote(s []byte, e *entry) ([]byte, bool) {
	out := e.Log[:0]
	defer func() { e.Log = out }()
	for i := 0; i < len(s); {
		// The run of bytes needing no work.
		j := i
		for j < len(s) && s[j] >= 0x20 && s[j] != '"' && s[j] != '\\' && s[j] < utf8.RuneSelf {
			j++
		}
		out = append(out, s[i:j]...)
		i = j
		if i == len(s) {
			return nil, false
		}
		c := s[i]
		switch {
		case c == '"':
			return s[i+1:], true
		case c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				return nil, false
			}
			out = append(out, s[i:i+size]...)
			i += size
		default: // '\\'
			if i+1 >= len(s) {
				return nil, false
			}
			switch s[i+1] {
			case '"', '\\', '/':
				out = append(out, s[i+1])
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'u':
				r, ok := hex4(s[i+2:])
				if !ok || utf16Surrogate(r) {
					return nil, false
				}
				out = utf8.AppendRune(out, r)
				i += 4
			default:
				return nil, false
			}
			i += 2
		}
	}
	return nil, false
}

// hex4 parses the four hex digits of a \u escape.
func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

func utf16Surrogate(r rune) bool { return 0xd800 <= r && r < 0xe000 }
