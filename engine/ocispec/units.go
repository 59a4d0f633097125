package ocispec

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseSize parses a size as Docker's --memory, --memory-swap and
// tmpfs-size do (go-units' RAMInBytes): a decimal number, optionally a
// space, and an optional binary unit b, k, m, g, t or p (any case, with an
// optional "b" or "ib": 512m, 1.5g, 64KiB). Negative sizes are refused.
func ParseSize(s string) (int64, error) {
	sep := strings.LastIndexAny(s, "0123456789. ")
	if sep == -1 {
		return 0, fmt.Errorf("invalid size: '%s'", s)
	}
	num, sfx := s[:sep+1], s[sep+1:]
	if s[sep] == ' ' {
		num = s[:sep]
	}
	size, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(size) || math.IsInf(size, 0) {
		return 0, fmt.Errorf("invalid size: '%s'", s)
	}
	if size < 0 {
		return 0, fmt.Errorf("invalid size: '%s'", s)
	}
	mul, err := sizeUnit(sfx)
	if err != nil {
		return 0, err
	}
	size *= float64(mul)
	// float64(MaxInt64) rounds up to 2^63, which no longer fits.
	if size >= math.MaxInt64 {
		return 0, fmt.Errorf("invalid size: '%s': too large", s)
	}
	return int64(size), nil
}

// sizeUnit returns the multiplier of a size suffix ("", "b", "k", "kb",
// "kib", ... up to "p").
func sizeUnit(sfx string) (int64, error) {
	if sfx == "" {
		return 1, nil
	}
	bad := fmt.Errorf("invalid suffix: '%s'", sfx)
	if len(sfx) > 3 {
		return 0, bad
	}
	l := strings.ToLower(sfx)
	if l[0] == 'b' {
		if len(l) > 1 {
			return 0, bad
		}
		return 1, nil
	}
	idx := strings.IndexByte("kmgtp", l[0])
	if idx < 0 {
		return 0, bad
	}
	if (len(l) == 2 && l[1] != 'b') || (len(l) == 3 && l[1:] != "ib") {
		return 0, bad
	}
	return int64(1) << (10 * (idx + 1)), nil
}

// humanSize writes a byte count with the largest binary unit that divides
// it evenly, as Docker writes tmpfs sizes (1g, 64m, 4096).
func humanSize(n int64) string {
	for _, u := range []struct {
		sfx string
		div int64
	}{{"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}} {
		if n%u.div == 0 {
			return strconv.FormatInt(n/u.div, 10) + u.sfx
		}
	}
	return strconv.FormatInt(n, 10)
}
