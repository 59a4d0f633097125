package nft

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ephemeralRange returns the kernel's ip_local_port_range, or Linux's
// default when it cannot be read.
func ephemeralRange() (lo, hi uint16) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		f := strings.Fields(string(b))
		if len(f) == 2 {
			a, err1 := strconv.ParseUint(f[0], 10, 16)
			c, err2 := strconv.ParseUint(f[1], 10, 16)
			if err1 == nil && err2 == nil && a > 0 && a <= c {
				return uint16(a), uint16(c)
			}
		}
	}
	return 32768, 60999
}

// CheckHostPort reports whether port/proto on hostIP (zero Addr: every
// address) is free on the host: nothing else may listen there, since a
// published port's DNAT would hide it. It bind-tests the port, so it sees
// sockets only; ports berth itself publishes are in Firewall.Published.
func CheckHostPort(hostIP netip.Addr, port uint16, proto string) error {
	addr := "0.0.0.0"
	if hostIP.IsValid() {
		addr = hostIP.String()
	}
	hp := net.JoinHostPort(addr, strconv.Itoa(int(port)))
	var err error
	switch proto {
	case "tcp":
		var l net.Listener
		if l, err = net.Listen("tcp4", hp); err == nil {
			return l.Close()
		}
	case "udp":
		var c net.PacketConn
		if c, err = net.ListenPacket("udp4", hp); err == nil {
			return c.Close()
		}
	default:
		return fmt.Errorf("protocol %q not supported (tcp or udp)", proto)
	}
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("bind for %s/%s failed: port is already allocated", hp, proto)
	}
	return fmt.Errorf("bind test %s/%s: %w", hp, proto, err)
}

// FreePort picks a free host port for proto on hostIP, in lo..hi, or in
// the kernel's ephemeral range when lo is 0. It starts at a random port and
// skips ports that are taken (inUse, e.g. ports berth already publishes,
// may be nil) or fail the bind test. The port is free when FreePort returns;
// the caller publishes it at once.
func FreePort(hostIP netip.Addr, proto string, lo, hi uint16, inUse func(uint16) bool) (uint16, error) {
	if proto != "tcp" && proto != "udp" {
		return 0, fmt.Errorf("protocol %q not supported (tcp or udp)", proto)
	}
	if lo == 0 {
		lo, hi = ephemeralRange()
	}
	if hi < lo {
		return 0, fmt.Errorf("port range %d-%d: end before start", lo, hi)
	}
	n := int(hi-lo) + 1
	start := rand.IntN(n)
	for i := 0; i < n; i++ {
		p := lo + uint16((start+i)%n)
		if inUse != nil && inUse(p) {
			continue
		}
		if CheckHostPort(hostIP, p, proto) == nil {
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free %s port in %d-%d", proto, lo, hi)
}
