package link

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// DefaultMTU is the MTU used when a configuration leaves it zero.
const DefaultMTU = 1500

// BridgeConfig describes a network's bridge.
type BridgeConfig struct {
	// Name is the interface name, e.g. "berth0" or "br-<12 hex>".
	Name string
	// Gateway is the bridge's own address with the subnet's prefix
	// length, e.g. 172.17.0.1/16. IPv4 only.
	Gateway netip.Prefix
	// MTU of the bridge and of the veths attached to it; 0 means 1500.
	MTU int
	// RouteLocalnet sets net.ipv4.conf.<bridge>.route_localnet, which the
	// firewall needs to DNAT 127.0.0.1 to containers (Docker sets it when
	// its userland proxy is off).
	RouteLocalnet bool
}

func (c *BridgeConfig) validate() error {
	if err := ValidateName(c.Name); err != nil {
		return err
	}
	if !c.Gateway.IsValid() || !c.Gateway.Addr().Is4() {
		return fmt.Errorf("bridge %s: gateway %v is not an IPv4 address with prefix", c.Name, c.Gateway)
	}
	if b := c.Gateway.Bits(); b < 1 || b > 30 {
		return fmt.Errorf("bridge %s: prefix length /%d leaves no room for containers", c.Name, b)
	}
	if c.Gateway.Masked().Addr() == c.Gateway.Addr() {
		return fmt.Errorf("bridge %s: gateway %v is the network address", c.Name, c.Gateway)
	}
	if c.MTU != 0 && (c.MTU < 68 || c.MTU > 65535) {
		return fmt.Errorf("bridge %s: MTU %d out of range 68-65535", c.Name, c.MTU)
	}
	return nil
}

func (c *BridgeConfig) mtu() int {
	if c.MTU == 0 {
		return DefaultMTU
	}
	return c.MTU
}

// EnsureBridge makes the bridge of c exist in the calling thread's network
// namespace, with exactly the gateway as its IPv4 address (other IPv4
// addresses on it are removed: berth owns its bridges), the MTU, IPv6
// disabled on it (berth networks are IPv4 only; this also keeps the
// bridge from answering router advertisements), route_localnet if asked,
// and up. It is idempotent. A non-bridge link with the name is an error.
// A bridge it created is deleted again if a later step fails.
func EnsureBridge(c BridgeConfig) error {
	if err := c.validate(); err != nil {
		return err
	}
	l, created, err := findOrCreateBridge(&c)
	if err != nil {
		return err
	}
	if err := configureBridge(l, &c); err != nil {
		if created {
			_ = netlink.LinkDel(l)
		}
		return err
	}
	return nil
}

// findOrCreateBridge returns the bridge named c.Name, creating it (with a
// random MAC, as Docker does, so the bridge's MAC does not change as ports
// come and go) if there is none.
func findOrCreateBridge(c *BridgeConfig) (netlink.Link, bool, error) {
	l, err := netlink.LinkByName(c.Name)
	if err == nil {
		if l.Type() != "bridge" {
			return nil, false, fmt.Errorf("bridge %s: a %s link has that name", c.Name, l.Type())
		}
		return l, false, nil
	}
	if !isNotFound(err) {
		return nil, false, fmt.Errorf("bridge %s: %w", c.Name, err)
	}
	mac, err := RandomMAC()
	if err != nil {
		return nil, false, fmt.Errorf("bridge %s: %w", c.Name, err)
	}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: c.Name, MTU: c.mtu(), HardwareAddr: mac}}
	if err := netlink.LinkAdd(br); err != nil {
		if errors.Is(err, unix.EEXIST) {
			// Someone else made it between our look and our add.
			l, err2 := netlink.LinkByName(c.Name)
			if err2 == nil && l.Type() == "bridge" {
				return l, false, nil
			}
		}
		return nil, false, fmt.Errorf("create bridge %s: %w", c.Name, err)
	}
	l, err = netlink.LinkByName(c.Name)
	if err != nil {
		return nil, false, fmt.Errorf("bridge %s: created but not found: %w", c.Name, err)
	}
	return l, true, nil
}

func configureBridge(l netlink.Link, c *BridgeConfig) error {
	if l.Attrs().MTU != c.mtu() {
		if err := netlink.LinkSetMTU(l, c.mtu()); err != nil {
			return fmt.Errorf("bridge %s: set MTU %d: %w", c.Name, c.mtu(), err)
		}
	}
	if err := setIfaceSysctl("ipv6", c.Name, "disable_ipv6", "1"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("bridge %s: %w", c.Name, err)
	}
	if c.RouteLocalnet {
		if err := setIfaceSysctl("ipv4", c.Name, "route_localnet", "1"); err != nil {
			return fmt.Errorf("bridge %s: %w", c.Name, err)
		}
	}
	if err := setBridgeAddr(l, c); err != nil {
		return err
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return fmt.Errorf("bridge %s: set up: %w", c.Name, err)
	}
	return nil
}

// setBridgeAddr leaves c.Gateway as the only IPv4 address on the bridge.
func setBridgeAddr(l netlink.Link, c *BridgeConfig) error {
	addrs, err := netlink.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("bridge %s: list addresses: %w", c.Name, err)
	}
	have := false
	for _, a := range addrs {
		p, ok := prefixOf(a.IPNet)
		if ok && p == c.Gateway {
			have = true
			continue
		}
		if err := netlink.AddrDel(l, &a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			return fmt.Errorf("bridge %s: remove old address %v: %w", c.Name, a.IPNet, err)
		}
	}
	if have {
		return nil
	}
	if err := netlink.AddrAdd(l, &netlink.Addr{IPNet: ipNet(c.Gateway)}); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("bridge %s: add address %v: %w", c.Name, c.Gateway, err)
	}
	return nil
}

// RemoveBridge deletes the bridge named name from the calling thread's
// network namespace; a missing bridge is not an error, a link of another
// type with that name is (it is left alone). The kernel detaches any
// remaining ports; the veths themselves stay.
func RemoveBridge(name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	l, err := netlink.LinkByName(name)
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return fmt.Errorf("remove bridge %s: %w", name, err)
	}
	if l.Type() != "bridge" {
		return fmt.Errorf("remove bridge %s: it is a %s link, not a bridge", name, l.Type())
	}
	if err := netlink.LinkDel(l); err != nil && !isNotFound(err) {
		return fmt.Errorf("remove bridge %s: %w", name, err)
	}
	return nil
}

// isNotFound reports whether err says a link does not exist.
func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, unix.ENODEV)
}

// ipNet converts a prefix that keeps its host bits to a *net.IPNet.
func ipNet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), bits)}
}

// prefixOf converts a *net.IPNet to a prefix that keeps its host bits.
func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}
