package ipam

import (
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// RouteLister returns the destinations of the host's routes; it is a seam
// so tests inject routes instead of reading the machine's.
type RouteLister func() ([]netip.Prefix, error)

// HostRoutes reads the IPv4 routes of the main table through netlink (a
// read; nothing is changed). The default route is left out: it overlaps
// everything and says nothing about which subnets are in use.
func HostRoutes() ([]netip.Prefix, error) {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("list host routes: %w", err)
	}
	var out []netip.Prefix
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		a, ok := netip.AddrFromSlice(r.Dst.IP)
		if !ok || ones == 0 {
			continue
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), ones).Masked())
	}
	return out, nil
}
