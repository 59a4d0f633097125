package link

import (
	"crypto/rand"
	"fmt"
	"net"
	"net/netip"
)

// MACFromIP derives a container MAC address from its IPv4 address the way
// Docker did up to 25.0: 02:42 followed by the four address bytes, so
// 172.17.0.2 gets 02:42:ac:11:00:02. The result is locally administered
// and unicast.
func MACFromIP(ip netip.Addr) (net.HardwareAddr, error) {
	if !ip.Is4() {
		return nil, fmt.Errorf("derive MAC: %v is not an IPv4 address", ip)
	}
	a := ip.As4()
	return net.HardwareAddr{0x02, 0x42, a[0], a[1], a[2], a[3]}, nil
}

// RandomMAC returns a random locally administered unicast MAC address.
func RandomMAC() (net.HardwareAddr, error) {
	m := make(net.HardwareAddr, 6)
	if _, err := rand.Read(m); err != nil {
		return nil, fmt.Errorf("random MAC: %w", err)
	}
	m[0] = m[0]&0xfe | 0x02 // unicast, locally administered
	return m, nil
}
