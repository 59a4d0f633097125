package logs

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseTime parses a --since or --until value as Docker's CLI does
// (timetypes.GetTimestamp): a Go duration counted back from now ("10m",
// "1h30m"); an RFC 3339 date and time, whole or cut after the date, the
// hour or the minute, with or without fraction, in local time unless it
// gives a zone ("2026-11-27", "2026-11-27T02:42", "2026-11-27T02:42:13Z",
// "2026-11-27T02:42:13.5+01:00"); or Unix seconds with an optional
// fraction ("1795747333", "1795747333.123456789").
func ParseTime(value string, now time.Time) (time.Time, error) {
	if value == "" {
		return time.Time{}, fmt.Errorf("failed to parse value as time or duration: %q", value)
	}
	if d, err := time.ParseDuration(value); value != "0" && err == nil {
		return now.Add(-d), nil
	}
	// A zone is given by Z, +hh:mm, or -hh:mm (a third '-').
	local := !(strings.ContainsAny(value, "zZ+") || strings.Count(value, "-") == 3)
	var layout string
	switch {
	case strings.Contains(value, "."):
		layout = "2006-01-02T15:04:05.999999999"
		if !local {
			layout = time.RFC3339Nano
		}
	case strings.Contains(value, "T"):
		colons := strings.Count(value, ":")
		if !local && !strings.ContainsAny(value, "zZ") && colons > 0 {
			colons-- // the zone's own colon
		}
		layouts := [3]string{"2006-01-02T15", "2006-01-02T15:04", "2006-01-02T15:04:05"}
		layout = layouts[min(colons, 2)]
		if !local {
			layout += "Z07:00"
		}
	default:
		layout = "2006-01-02"
		if !local {
			layout += "Z07:00"
		}
	}
	var t time.Time
	var err error
	if local {
		t, err = time.ParseInLocation(layout, value, now.Location())
	} else {
		t, err = time.Parse(layout, value)
	}
	if err == nil {
		return t, nil
	}
	if t, ok := parseUnix(value); ok {
		return t, nil
	}
	// Docker's words (timetypes.GetTimestamp).
	return time.Time{}, fmt.Errorf("failed to parse value as time or duration: %q", value)
}

// parseUnix parses "seconds[.fraction]", digits only.
func parseUnix(value string) (time.Time, bool) {
	sec, frac, hasFrac := strings.Cut(value, ".")
	if !allDigits(sec) || len(sec) > 12 || hasFrac && (!allDigits(frac) || len(frac) > 9) {
		return time.Time{}, false
	}
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	var ns int64
	if hasFrac {
		n, err := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		ns = n
	}
	return time.Unix(s, ns).UTC(), true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
