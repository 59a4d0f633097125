package ocispec

import "testing"

func TestParseSize(t *testing.T) {
	good := map[string]int64{
		"0": 0, "512": 512, "512b": 512, "1k": 1024, "1K": 1024, "1kb": 1024, "1KiB": 1024,
		"6m": 6 << 20, "1.5g": 3 << 29, "2 g": 2 << 30, "1t": 1 << 40, "1p": 1 << 50, "1.": 1, "1mib": 1 << 20, "1e3": 1000,
	}
	for in, want := range good {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "12x", "-1", "-1m", "1kk", "1kbb", "1bb", "m", "NaN", "Inf",
		"99999999999p", "1.2.3", " ", "1e400", "1eb"} {
		if n, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, n)
		}
	}
}

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{1 << 30: "1g", 64 << 20: "64m", 4096: "4k", 1000: "1000"} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
}
