package main

import "testing"

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{
		"-1": -1, "0": 0, "4096": 4096, "1k": 1024, "1K": 1024, "64m": 64 << 20, "64MB": 64 << 20,
		"1g": 1 << 30, "1GiB": 1 << 30, "1.5k": 1536, "2t": 2 << 40,
	} {
		got, err := parseBytes(in)
		if err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "-5", "1q", "m", "99999999999t"} {
		if _, err := parseBytes(bad); err == nil {
			t.Errorf("parseBytes(%q): no error", bad)
		}
	}
}
