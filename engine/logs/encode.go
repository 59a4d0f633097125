package logs

import (
	"errors"
	"time"
	"unicode/utf8"
)

// timeLayout is the layout of the "time" field: Docker writes
// time.RFC3339Nano (trailing zeros of the fraction trimmed) in UTC.
const timeLayout = `"` + time.RFC3339Nano + `"`

// TimestampLayout is how `docker logs -t` prints a line's time: fixed
// width nanoseconds, so that the columns line up.
const TimestampLayout = "2006-01-02T15:04:05.000000000Z07:00"

// errYear is returned for times RFC 3339 cannot express (as Docker's
// fastTimeMarshalJSON does).
var errYear = errors.New("log time: year outside of range [0,9999]")

// AppendTimestamp appends t as `docker logs -t` prefixes a line: UTC,
// RFC 3339 with nanoseconds, then one space.
func AppendTimestamp(dst []byte, t time.Time) []byte {
	dst = t.UTC().AppendFormat(dst, TimestampLayout)
	return append(dst, ' ')
}

// checkTime reports whether t can be written in the "time" field.
func checkTime(t time.Time) error {
	if y := t.UTC().Year(); y < 0 || y >= 10000 {
		return errYear
	}
	return nil
}

// appendEntry appends one log line as Docker's json-file driver writes it
// (jsonlog.JSONLogs.MarshalJSONBuf), including the final '\n'. line is not
// empty: an entry always carries some text.
func appendEntry(dst []byte, stream string, line []byte, t time.Time) []byte {
	return appendEntryTime(dst, stream, line, appendTime(nil, t))
}

// appendTime appends t as the "time" field's value, quotes included.
func appendTime(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, timeLayout)
}

// appendEntryTime is appendEntry with the time already formatted by
// appendTime: the lines of one Write share it.
func appendEntryTime(dst []byte, stream string, line, tm []byte) []byte {
	dst = append(dst, `{"log":`...)
	dst = appendString(dst, line)
	dst = append(dst, `,"stream":"`...)
	dst = append(dst, stream...) // "stdout" or "stderr": nothing to escape
	dst = append(dst, `","time":`...)
	dst = append(dst, tm...)
	return append(dst, "}\n"...)
}

// appendString appends s as a JSON string the way Docker's
// ffjsonWriteJSONBytesAsString does: like encoding/json with HTML
// escaping (<, >, & as \u003c...), invalid UTF-8 as \ufffd, U+2028 and
// U+2029 escaped; unlike encoding/json, only \n and \r get short escapes
// (a tab is \u0009), which keeps the bytes identical to Docker's files.
func appendString(dst []byte, s []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if 0x20 <= b && b != '\\' && b != '"' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRune(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 end lines in JavaScript: escaped as
		// encoding/json does.
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
