package ipam

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ErrIPv6 says an IPv6 subnet or address was given; berth networks are
// IPv4 only for now.
var ErrIPv6 = errors.New("IPv6 is not supported yet")

// reserved are IPv4 ranges that can never be a bridge network's subnet:
// "this network", loopback and multicast/class E.
var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("224.0.0.0/3"),
}

// MaxPrefixLen is the longest subnet prefix accepted: a /30 still holds a
// gateway and one container.
const MaxPrefixLen = 30

// ParseSubnet parses a --subnet value: an IPv4 CIDR with no host bits
// set, /30 or wider, outside reserved ranges.
func ParseSubnet(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid subnet %q: not a CIDR (as 172.20.0.0/16)", s)
	}
	return CheckSubnet(p)
}

// CheckSubnet checks a parsed subnet as ParseSubnet does.
func CheckSubnet(p netip.Prefix) (netip.Prefix, error) {
	if !p.IsValid() {
		return netip.Prefix{}, fmt.Errorf("invalid subnet: empty")
	}
	if !p.Addr().Is4() {
		if p.Addr().Is4In6() {
			return netip.Prefix{}, fmt.Errorf("invalid subnet %s: IPv4-mapped IPv6; write it as IPv4", p)
		}
		return netip.Prefix{}, fmt.Errorf("invalid subnet %s: %w", p, ErrIPv6)
	}
	if p.Addr().Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("invalid subnet %s: zone not allowed", p)
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("invalid subnet %s: host bits set, it should be %s", p, m)
	}
	if p.Bits() > MaxPrefixLen {
		return netip.Prefix{}, fmt.Errorf("invalid subnet %s: too small, at most /%d", p, MaxPrefixLen)
	}
	for _, r := range reserved {
		if p.Overlaps(r) {
			return netip.Prefix{}, fmt.Errorf("invalid subnet %s: overlaps reserved range %s", p, r)
		}
	}
	return p, nil
}

// parseAddr parses an IPv4 address flag value named what.
func parseAddr(what, s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("invalid %s %q: not an IP address", what, s)
	}
	if a.Is4In6() {
		a = a.Unmap()
	}
	if !a.Is4() {
		return netip.Addr{}, fmt.Errorf("invalid %s %s: %w", what, a, ErrIPv6)
	}
	return a, nil
}

// ParseGateway parses a --gateway value for subnet; empty means the
// subnet's first host address, as Docker.
func ParseGateway(subnet netip.Prefix, s string) (netip.Addr, error) {
	if strings.TrimSpace(s) == "" {
		return FirstHost(subnet), nil
	}
	a, err := parseAddr("gateway", s)
	if err != nil {
		return netip.Addr{}, err
	}
	if err := CheckGateway(subnet, a); err != nil {
		return netip.Addr{}, err
	}
	return a, nil
}

// CheckGateway says whether gw is a host address of subnet.
func CheckGateway(subnet netip.Prefix, gw netip.Addr) error {
	if !subnet.Contains(gw) {
		return fmt.Errorf("invalid gateway %s: not in subnet %s", gw, subnet)
	}
	if gw == subnet.Addr() || gw == Broadcast(subnet) {
		return fmt.Errorf("invalid gateway %s: the network or broadcast address of %s", gw, subnet)
	}
	return nil
}

// ParseIP parses an --ip value for a network with subnet and gateway: it
// must be a host address of the subnet other than the gateway. Whether it
// is free is checked when it is allocated.
func ParseIP(subnet netip.Prefix, gateway netip.Addr, s string) (netip.Addr, error) {
	a, err := parseAddr("IP address", s)
	if err != nil {
		return netip.Addr{}, err
	}
	if err := checkHost(subnet, gateway, a); err != nil {
		return netip.Addr{}, err
	}
	return a, nil
}

// checkHost says whether a can be given to a container.
func checkHost(subnet netip.Prefix, gateway, a netip.Addr) error {
	switch {
	case !subnet.Contains(a):
		return fmt.Errorf("invalid IP address %s: not in the network's subnet %s", a, subnet)
	case a == gateway:
		return fmt.Errorf("invalid IP address %s: it is the network's gateway", a)
	case a == subnet.Addr() || a == Broadcast(subnet):
		return fmt.Errorf("invalid IP address %s: the network or broadcast address of %s", a, subnet)
	}
	return nil
}

// FirstHost is the first address after the network address.
func FirstHost(p netip.Prefix) netip.Addr { return p.Masked().Addr().Next() }

// Broadcast is the last address of an IPv4 prefix.
func Broadcast(p netip.Prefix) netip.Addr {
	v := u32(p.Masked().Addr()) | hostMask(p.Bits())
	return addr4(v)
}

// hostMask has the host bits of a /bits prefix set.
func hostMask(bits int) uint32 {
	if bits >= 32 {
		return 0
	}
	return ^uint32(0) >> uint(bits)
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func addr4(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
