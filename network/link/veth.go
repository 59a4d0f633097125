package link

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// AttachConfig describes one container interface on a bridge.
type AttachConfig struct {
	// Netns is the path of the container's network namespace file.
	Netns string
	// Bridge is the name of an existing bridge.
	Bridge string
	// IfName is the interface name in the container ("eth0" if empty).
	IfName string
	// HostIfName is the host end's name; empty picks veth<7 hex>.
	HostIfName string
	// Address is the container's address with the subnet's prefix length.
	Address netip.Prefix
	// Gateway is the default route's next hop; the zero Addr means no
	// default route (Docker adds none on --internal networks).
	Gateway netip.Addr
	// MAC of the container interface; nil derives it from Address as
	// MACFromIP does.
	MAC net.HardwareAddr
	// MTU of both ends; 0 takes the bridge's MTU.
	MTU int

	// afterCreate, if set, runs once the pair exists; tests use it to
	// make a later step fail and check the cleanup.
	afterCreate func(hostIfName string) error
}

// Endpoint is what Attach made.
type Endpoint struct {
	HostIfName string           // host end, a port of the bridge
	IfName     string           // interface in the container
	MAC        net.HardwareAddr // MAC of IfName
	Address    netip.Prefix
}

func (c *AttachConfig) validate() error {
	if c.IfName == "" {
		c.IfName = "eth0"
	}
	if err := ValidateName(c.IfName); err != nil {
		return err
	}
	if c.IfName == "lo" {
		return fmt.Errorf("%w: lo is the loopback", errBadName)
	}
	if err := ValidateName(c.Bridge); err != nil {
		return err
	}
	if c.HostIfName != "" {
		if err := ValidateName(c.HostIfName); err != nil {
			return err
		}
	}
	if !c.Address.IsValid() || !c.Address.Addr().Is4() || c.Address.Bits() < 1 || c.Address.Bits() > 30 {
		return fmt.Errorf("attach: address %v is not an IPv4 address with prefix /1-/30", c.Address)
	}
	if a, netAddr := c.Address.Addr(), c.Address.Masked().Addr(); a == netAddr || a == lastAddr(c.Address) {
		return fmt.Errorf("attach: %v is the network or broadcast address of its subnet", c.Address)
	}
	if c.Gateway.IsValid() {
		if !c.Gateway.Is4() || !c.Address.Masked().Contains(c.Gateway) || c.Gateway == c.Address.Addr() {
			return fmt.Errorf("attach: gateway %v is not another address in %v", c.Gateway, c.Address.Masked())
		}
	}
	if c.MAC != nil && (len(c.MAC) != 6 || c.MAC[0]&1 != 0) {
		return fmt.Errorf("attach: MAC %v is not a unicast Ethernet address", c.MAC)
	}
	if c.MTU != 0 && (c.MTU < 68 || c.MTU > 65535) {
		return fmt.Errorf("attach: MTU %d out of range 68-65535", c.MTU)
	}
	return nil
}

// Attach connects the container namespace c.Netns to bridge c.Bridge: it
// creates a veth pair whose peer is born inside the namespace under its
// final name (so it never clashes with a host interface), gives the peer
// its MAC, MTU and address, brings it and the loopback up, adds the default
// route, then makes the host end a bridge port and brings it up. Called in
// the namespace that holds the bridge. On any failure the pair is deleted
// and the error says which step failed.
func Attach(c AttachConfig) (Endpoint, error) {
	if err := c.validate(); err != nil {
		return Endpoint{}, err
	}
	br, err := netlink.LinkByName(c.Bridge)
	if err != nil {
		if isNotFound(err) {
			return Endpoint{}, fmt.Errorf("attach to bridge %s: no such bridge", c.Bridge)
		}
		return Endpoint{}, fmt.Errorf("attach to bridge %s: %w", c.Bridge, err)
	}
	if br.Type() != "bridge" {
		return Endpoint{}, fmt.Errorf("attach to bridge %s: it is a %s link", c.Bridge, br.Type())
	}
	if c.MTU == 0 {
		c.MTU = br.Attrs().MTU
	}
	if c.MAC == nil {
		if c.MAC, err = MACFromIP(c.Address.Addr()); err != nil {
			return Endpoint{}, err
		}
	}
	ns, err := openNetns(c.Netns)
	if err != nil {
		return Endpoint{}, fmt.Errorf("attach: %w", err)
	}
	defer ns.Close()

	host, err := createVeth(&c, int(ns.Fd()))
	if err != nil {
		return Endpoint{}, err
	}
	if c.afterCreate != nil {
		if err := c.afterCreate(host.Attrs().Name); err != nil {
			_ = netlink.LinkDel(host)
			return Endpoint{}, fmt.Errorf("attach: %w", err)
		}
	}
	if err := setupPeer(&c); err != nil {
		_ = netlink.LinkDel(host)
		return Endpoint{}, err
	}
	if err := netlink.LinkSetMaster(host, br); err != nil {
		_ = netlink.LinkDel(host)
		return Endpoint{}, fmt.Errorf("attach %s to bridge %s: %w", host.Attrs().Name, c.Bridge, err)
	}
	if err := netlink.LinkSetUp(host); err != nil {
		_ = netlink.LinkDel(host)
		return Endpoint{}, fmt.Errorf("attach: set %s up: %w", host.Attrs().Name, err)
	}
	return Endpoint{HostIfName: host.Attrs().Name, IfName: c.IfName, MAC: c.MAC, Address: c.Address}, nil
}

// createVeth creates the pair with the peer directly in the namespace
// nsFd, retrying random host names that are taken.
func createVeth(c *AttachConfig, nsFd int) (netlink.Link, error) {
	for try := 0; ; try++ {
		name := c.HostIfName
		if name == "" {
			var err error
			if name, err = HostVethName(); err != nil {
				return nil, err
			}
		}
		hostMAC, err := RandomMAC()
		if err != nil {
			return nil, err
		}
		v := &netlink.Veth{
			LinkAttrs:        netlink.LinkAttrs{Name: name, MTU: c.MTU, HardwareAddr: hostMAC},
			PeerName:         c.IfName,
			PeerHardwareAddr: c.MAC,
			PeerMTU:          uint32(c.MTU),
			PeerNamespace:    netlink.NsFd(nsFd),
		}
		err = netlink.LinkAdd(v)
		if err == nil {
			l, err := netlink.LinkByName(name)
			if err != nil {
				return nil, fmt.Errorf("attach: veth %s created but not found: %w", name, err)
			}
			return l, nil
		}
		if errors.Is(err, unix.EEXIST) && c.HostIfName == "" && try < 8 {
			// Either the random host name or IfName in the namespace
			// is taken; only the first is worth another try.
			if _, lerr := netlink.LinkByName(name); lerr == nil {
				continue
			}
			return nil, fmt.Errorf("attach: create veth: %s already exists in %s: %w", c.IfName, c.Netns, err)
		}
		return nil, fmt.Errorf("attach: create veth %s (peer %s in %s): %w", name, c.IfName, c.Netns, err)
	}
}

// setupPeer configures the container end inside its namespace.
func setupPeer(c *AttachConfig) error {
	return Do(c.Netns, func() error {
		l, err := netlink.LinkByName(c.IfName)
		if err != nil {
			return fmt.Errorf("attach: %s in %s: %w", c.IfName, c.Netns, err)
		}
		if err := netlink.AddrAdd(l, &netlink.Addr{IPNet: ipNet(c.Address)}); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("attach: add address %v to %s: %w", c.Address, c.IfName, err)
		}
		if err := netlink.LinkSetUp(l); err != nil {
			return fmt.Errorf("attach: set %s up: %w", c.IfName, err)
		}
		if err := loopbackUp(); err != nil {
			return err
		}
		if !c.Gateway.IsValid() {
			return nil
		}
		r := &netlink.Route{
			LinkIndex: l.Attrs().Index,
			Gw:        net.IP(c.Gateway.AsSlice()),
			Dst:       nil, // default route
		}
		if err := netlink.RouteAdd(r); err != nil {
			if errors.Is(err, unix.EEXIST) {
				// A default route exists from another interface: the
				// first network a container joins keeps it, as in Docker.
				return nil
			}
			return fmt.Errorf("attach: default route via %v: %w", c.Gateway, err)
		}
		return nil
	})
}

// SetupLoopback brings up lo in the namespace at netnsPath; all that
// --network none needs.
func SetupLoopback(netnsPath string) error {
	return Do(netnsPath, loopbackUp)
}

func loopbackUp() error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	return nil
}

// Detach deletes the interface ifName from the namespace at netnsPath,
// which removes the veth pair and its bridge port. It is idempotent: a
// missing interface, a namespace file that is gone or no longer mounted
// (after a reboot: the kernel deleted the veth with the namespace) is
// success. Only veth links are deleted.
func Detach(netnsPath, ifName string) error {
	if err := ValidateName(ifName); err != nil {
		return err
	}
	live, err := IsNetns(netnsPath)
	if err != nil {
		return fmt.Errorf("detach %s: %w", ifName, err)
	}
	if !live {
		return nil
	}
	err = Do(netnsPath, func() error { return deleteVeth(ifName) })
	if err != nil && errors.Is(err, ErrNotNetns) {
		return nil // unmounted between our look and Do
	}
	return err
}

// DetachHost deletes the host end hostIfName of a veth pair in the calling
// thread's namespace, for when the container's namespace is not at hand.
// Missing is success; a link that is not a veth is refused.
func DetachHost(hostIfName string) error {
	if err := ValidateName(hostIfName); err != nil {
		return err
	}
	return deleteVeth(hostIfName)
}

func deleteVeth(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return fmt.Errorf("detach %s: %w", name, err)
	}
	if l.Type() != "veth" {
		return fmt.Errorf("detach %s: it is a %s link, not a veth", name, l.Type())
	}
	if err := netlink.LinkDel(l); err != nil && !isNotFound(err) {
		return fmt.Errorf("detach %s: %w", name, err)
	}
	return nil
}

// lastAddr returns the broadcast address of p's IPv4 subnet.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
