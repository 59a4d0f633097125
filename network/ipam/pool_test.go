package ipam

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// TestChoose checks the pool walk skips subnets taken by networks and by
// host routes, in Docker's pool order.
func TestChoose(t *testing.T) {
	all172 := prefixes("172.16.0.0/12")
	for _, tc := range []struct {
		name  string
		taken []netip.Prefix
		want  string
	}{
		{"empty", nil, "172.17.0.0/16"},
		{"default taken", prefixes("172.17.0.0/16"), "172.18.0.0/16"},
		{"host route inside", prefixes("172.17.0.0/16", "172.18.5.0/24"), "172.19.0.0/16"},
		{"host /32 route", prefixes("172.17.0.0/16", "172.18.0.0/16", "172.19.0.9/32"), "172.20.0.0/16"},
		{"wide host route", all172, "192.168.0.0/20"},
		{"wide and one /20", append(prefixes("192.168.0.0/20", "192.168.20.0/24"), all172...), "192.168.32.0/20"},
		{"ipv6 ignored", prefixes("fd00::/8"), "172.17.0.0/16"},
	} {
		got, err := Choose(DefaultPools(), tc.taken)
		if err != nil || got.String() != tc.want {
			t.Errorf("%s: Choose = %v, %v; want %s", tc.name, got, err, tc.want)
		}
	}
	_, err := Choose(DefaultPools(), prefixes("172.16.0.0/12", "192.168.0.0/16"))
	if !errors.Is(err, ErrNoPool) {
		t.Fatalf("all taken: err = %v", err)
	}
}

// TestChooseLargePoolIsFast checks a huge pool behind a wide taken range
// is walked by jumps, not subnet by subnet.
func TestChooseLargePoolIsFast(t *testing.T) {
	pools := []Pool{{Base: netip.MustParsePrefix("10.0.0.0/8"), Size: 30}}
	start := time.Now()
	got, err := Choose(pools, prefixes("10.0.0.0/9", "10.128.0.0/10", "10.192.0.0/30"))
	if err != nil || got.String() != "10.192.0.4/30" {
		t.Fatalf("Choose = %v, %v", got, err)
	}
	if _, err := Choose(pools, prefixes("10.0.0.0/8")); !errors.Is(err, ErrNoPool) {
		t.Fatalf("full: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("took %v", d)
	}
	// A configured pool is used in order.
	cfg := []Pool{{Base: netip.MustParsePrefix("10.200.0.0/16"), Size: 24}}
	if got, err := Choose(cfg, prefixes("10.200.0.0/24")); err != nil || got.String() != "10.200.1.0/24" {
		t.Fatalf("configured pool: %v, %v", got, err)
	}
}
