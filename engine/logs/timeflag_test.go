package logs

import (
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	loc := time.FixedZone("here", -5*3600)
	now := time.Date(2026, 11, 27, 2, 42, 13, 0, loc)
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"10m", now.Add(-10 * time.Minute)},
		{"1h30m", now.Add(-90 * time.Minute)},
		{"2026-11-27", time.Date(2026, 11, 27, 0, 0, 0, 0, loc)},
		{"2026-11-27Z", time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)},
		{"2026-11-27T02", time.Date(2026, 11, 27, 2, 0, 0, 0, loc)},
		{"2026-11-27T02:42", time.Date(2026, 11, 27, 2, 42, 0, 0, loc)},
		{"2026-11-27T02:42:13", time.Date(2026, 11, 27, 2, 42, 13, 0, loc)},
		{"2026-11-27T02:42:13Z", time.Date(2026, 11, 27, 2, 42, 13, 0, time.UTC)},
		{"2026-11-27T02:42Z", time.Date(2026, 11, 27, 2, 42, 0, 0, time.UTC)},
		{"2026-11-27T02:42:13+01:00", time.Date(2026, 11, 27, 1, 42, 13, 0, time.UTC)},
		{"2026-11-27T02:42:13-01:00", time.Date(2026, 11, 27, 3, 42, 13, 0, time.UTC)},
		{"2026-11-27T02:42:13.123456789Z", time.Date(2026, 11, 27, 2, 42, 13, 123456789, time.UTC)},
		{"2026-11-27T02:42:13.5", time.Date(2026, 11, 27, 2, 42, 13, 500000000, loc)},
		{"1795747333", time.Unix(1795747333, 0)},
		{"1795747333.25", time.Unix(1795747333, 250000000)},
		{"0", time.Unix(0, 0)},
	} {
		got, err := ParseTime(c.in, now)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if !got.Equal(c.want) {
			t.Errorf("%q: got %v, want %v", c.in, got, c.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "12x", "2026-13-01", "1.2.3", "-5", "1795747333.1234567891", "９", "2026-11-27T25"} {
		if got, err := ParseTime(bad, now); err == nil {
			t.Errorf("%q accepted: %v", bad, got)
		} else if !strings.Contains(err.Error(), "failed to parse value as time or duration") {
			t.Errorf("%q: error %q, not Docker's words", bad, err)
		}
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"10m", "2026-11-27T02:42:13.5+01:00", "1795747333.25", "2026-11-27Z", "T::"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 27, 2, 42, 13, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		ParseTime(s, now) // must not panic
	})
}
