package server

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"

	mdns "github.com/miekg/dns"
)

// maxUpstreams bounds the resolvers taken from a resolv.conf.
const maxUpstreams = 8

// Upstreams reads the nameservers of a resolv.conf (the host's) as
// "addr:port". Loopback resolvers (systemd-resolved's 127.0.0.53) are kept:
// the server runs in the host's namespace and reaches them, which the
// containers cannot. A resolver equal to self (the server's own address) is
// dropped, so that a host pointed at the network's server cannot loop.
func Upstreams(path string, self netip.AddrPort) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	cc, err := mdns.ClientConfigFromReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	var out []string
	for _, s := range cc.Servers {
		a, err := netip.ParseAddr(s)
		if err != nil {
			continue // not an address (a host name has no place here)
		}
		// glibc's resolv.conf has no port: always 53.
		ap := netip.AddrPortFrom(a.Unmap(), 53)
		if ap == self || (a.IsUnspecified() && ap.Port() == self.Port()) {
			continue
		}
		out = append(out, ap.String())
		if len(out) == maxUpstreams {
			break
		}
	}
	return out, nil
}
