package ipam

import (
	"net/netip"
	"strings"
	"testing"
)

// TestParseBadInput checks every flag parser refuses bad and hostile
// values with an error that says why.
func TestParseBadInput(t *testing.T) {
	sub := netip.MustParsePrefix("10.1.0.0/24")
	gw := netip.MustParseAddr("10.1.0.1")
	for _, tc := range []struct {
		name string
		fn   func() error
		want string
	}{
		{"subnet empty", func() error { _, err := ParseSubnet(""); return err }, "not a CIDR"},
		{"subnet garbage", func() error { _, err := ParseSubnet("10.1.0.0/33"); return err }, "not a CIDR"},
		{"subnet no mask", func() error { _, err := ParseSubnet("10.1.0.0"); return err }, "not a CIDR"},
		{"subnet host bits", func() error { _, err := ParseSubnet("10.1.2.3/16"); return err }, "should be 10.1.0.0/16"},
		{"subnet ipv6", func() error { _, err := ParseSubnet("fd00::/64"); return err }, "IPv6 is not supported"},
		{"subnet mapped", func() error { _, err := ParseSubnet("::ffff:10.0.0.0/120"); return err }, "IPv4-mapped"},
		{"subnet too small", func() error { _, err := ParseSubnet("10.1.0.0/31"); return err }, "too small"},
		{"subnet everything", func() error { _, err := ParseSubnet("0.0.0.0/0"); return err }, "reserved"},
		{"subnet loopback", func() error { _, err := ParseSubnet("127.0.0.0/16"); return err }, "reserved"},
		{"subnet multicast", func() error { _, err := ParseSubnet("239.0.0.0/8"); return err }, "reserved"},
		{"subnet nul", func() error { _, err := ParseSubnet("10.0.0.0/8\x00"); return err }, "not a CIDR"},
		{"gateway outside", func() error { _, err := ParseGateway(sub, "10.2.0.1"); return err }, "not in subnet"},
		{"gateway network", func() error { _, err := ParseGateway(sub, "10.1.0.0"); return err }, "network or broadcast"},
		{"gateway broadcast", func() error { _, err := ParseGateway(sub, "10.1.0.255"); return err }, "network or broadcast"},
		{"gateway ipv6", func() error { _, err := ParseGateway(sub, "fd00::1"); return err }, "IPv6"},
		{"gateway garbage", func() error { _, err := ParseGateway(sub, "10.1.0.1/24"); return err }, "not an IP"},
		{"ip outside", func() error { _, err := ParseIP(sub, gw, "10.1.1.5"); return err }, "not in the network's subnet"},
		{"ip gateway", func() error { _, err := ParseIP(sub, gw, "10.1.0.1"); return err }, "gateway"},
		{"ip broadcast", func() error { _, err := ParseIP(sub, gw, "10.1.0.255"); return err }, "broadcast"},
		{"ip garbage", func() error { _, err := ParseIP(sub, gw, "ten"); return err }, "not an IP"},
		{"ip zone", func() error { _, err := ParseIP(sub, gw, "fe80::1%eth0"); return err }, "IPv6"},
		{"pool size", func() error { _, err := ParsePool("10.0.0.0/16", 8); return err }, "between"},
	} {
		err := tc.fn()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestParseGood(t *testing.T) {
	sub, err := ParseSubnet(" 10.1.0.0/24 ")
	if err != nil {
		t.Fatal(err)
	}
	gw, err := ParseGateway(sub, "")
	if err != nil || gw.String() != "10.1.0.1" {
		t.Fatalf("default gateway = %v, %v", gw, err)
	}
	if gw, err = ParseGateway(sub, "10.1.0.254"); err != nil || gw.String() != "10.1.0.254" {
		t.Fatalf("gateway = %v, %v", gw, err)
	}
	if a, err := ParseIP(sub, gw, "::ffff:10.1.0.7"); err != nil || a.String() != "10.1.0.7" {
		t.Fatalf("ip = %v, %v", a, err)
	}
	if b := Broadcast(netip.MustParsePrefix("192.168.16.0/20")); b.String() != "192.168.31.255" {
		t.Fatalf("broadcast = %v", b)
	}
}

// FuzzFlags runs the flag parsers on arbitrary input: no panic, and what
// they accept holds their own invariants.
func FuzzFlags(f *testing.F) {
	f.Add("10.1.0.0/24", "10.1.0.1", "10.1.0.9")
	f.Add("172.20.0.0/16", "", "172.20.255.255")
	f.Add("fd00::/64", "fd00::1", "::1")
	f.Add("1.2.3.4/0", "x", "%")
	f.Fuzz(func(t *testing.T, subnet, gateway, ip string) {
		sub, err := ParseSubnet(subnet)
		if err != nil {
			return
		}
		if !sub.Addr().Is4() || sub.Masked() != sub || sub.Bits() > MaxPrefixLen {
			t.Fatalf("accepted subnet %v", sub)
		}
		gw, err := ParseGateway(sub, gateway)
		if err != nil {
			return
		}
		if !sub.Contains(gw) || gw == sub.Addr() || gw == Broadcast(sub) {
			t.Fatalf("accepted gateway %v for %v", gw, sub)
		}
		a, err := ParseIP(sub, gw, ip)
		if err != nil {
			return
		}
		if !sub.Contains(a) || a == gw || a == sub.Addr() || a == Broadcast(sub) {
			t.Fatalf("accepted ip %v for %v gw %v", a, sub, gw)
		}
	})
}
