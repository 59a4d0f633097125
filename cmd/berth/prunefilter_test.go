package main

import (
	"strconv"
	"testing"
	"time"
)

func TestParsePruneFilters(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	old, recent := now.Add(-48*time.Hour), now.Add(-time.Hour)
	for _, tc := range []struct {
		filters []string
		created time.Time
		labels  map[string]string
		want    bool
	}{
		{nil, recent, nil, true},
		{[]string{"until=24h"}, old, nil, true},
		{[]string{"until=24h"}, recent, nil, false},
		{[]string{"until=2026-01-01"}, old, nil, true},
		{[]string{"until=2026-01-01T00:00:00Z"}, recent, nil, false},
		{[]string{"until=" + strconv.FormatInt(now.Unix()-3600*24, 10)}, old, nil, true},
		{[]string{"until=" + strconv.FormatInt(now.Unix()-3600*24, 10) + ".5"}, recent, nil, false},
		{[]string{"label=a"}, old, map[string]string{"a": "1"}, true},
		{[]string{"label=a=2"}, old, map[string]string{"a": "1"}, false},
		{[]string{"label=a=1", "label=b"}, old, map[string]string{"a": "1"}, false},
		{[]string{"label!=a"}, old, map[string]string{"a": "1"}, false},
		{[]string{"label!=a=2"}, old, map[string]string{"a": "1"}, true},
		{[]string{"label!=a"}, old, nil, true},
	} {
		f, err := parsePruneFilters(tc.filters, now)
		if err != nil {
			t.Errorf("%v: %v", tc.filters, err)
			continue
		}
		if got := f.match(tc.created, tc.labels); got != tc.want {
			t.Errorf("%v on %v %v: %v, want %v", tc.filters, tc.created, tc.labels, got, tc.want)
		}
	}
	// A time without a zone is local, as Docker's (timetypes.GetTimestamp).
	local := time.FixedZone("here", -5*3600)
	f, err := parsePruneFilters([]string{"until=2026-01-02T03:00"}, now.In(local))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 1, 2, 3, 0, 0, 0, local); !f.until.Equal(want) {
		t.Errorf("until=2026-01-02T03:00 in zone %v: %v, want %v", local, f.until, want)
	}
	for _, bad := range []string{"until", "until=", "until=yesterday", "label=", "foo=bar", "until=99999999999999999999", "until=1.1234567890"} {
		if _, err := parsePruneFilters([]string{bad}, now); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func FuzzParsePruneFilters(f *testing.F) {
	for _, s := range []string{"until=24h", "until=1700000000.5", "label=a=b", "label!=x", "until=2026-01-02T03:04:05Z", "=", "until=-1h"} {
		f.Add(s)
	}
	now := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, s string) {
		pf, err := parsePruneFilters([]string{s}, now)
		if err == nil {
			_ = pf.match(now, map[string]string{"a": "b"})
		}
	})
}
