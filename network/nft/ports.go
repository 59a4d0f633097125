package nft

import (
	"fmt"
	"net/netip"
	"strings"
)

// Published is a port berth publishes, as read back from its rules.
type Published struct {
	ContainerID   string
	ContainerIP   netip.Addr
	HostIP        netip.Addr // zero: every host address
	HostPort      uint16
	ContainerPort uint16
	Proto         string
}

// describe is the comment tail of a DNAT rule: "tcp 0.0.0.0:8080->10.88.0.2:80".
func describe(m PortMapping, cip netip.Addr) string {
	h := "0.0.0.0"
	if m.HostIP.IsValid() {
		h = m.HostIP.String()
	}
	return fmt.Sprintf("%s %s:%d->%s:%d", m.Proto, h, m.HostPort, cip, m.ContainerPort)
}

// parseDescribe reads describe's output back; ok false for anything else.
func parseDescribe(s string) (p Published, ok bool) {
	proto, rest, found := strings.Cut(s, " ")
	if !found || (proto != "tcp" && proto != "udp") {
		return p, false
	}
	from, to, found := strings.Cut(rest, "->")
	if !found {
		return p, false
	}
	h, err1 := netip.ParseAddrPort(from)
	c, err2 := netip.ParseAddrPort(to)
	if err1 != nil || err2 != nil || !h.Addr().Is4() || !c.Addr().Is4() || h.Port() == 0 || c.Port() == 0 {
		return p, false
	}
	p = Published{ContainerIP: c.Addr(), HostPort: h.Port(), ContainerPort: c.Port(), Proto: proto}
	if !h.Addr().IsUnspecified() {
		p.HostIP = h.Addr()
	}
	return p, true
}

// validMapping checks a mapping is ready to publish.
func validMapping(m PortMapping) error {
	if m.Proto != "tcp" && m.Proto != "udp" {
		return fmt.Errorf("port %s: protocol %q not supported (tcp or udp)", m, m.Proto)
	}
	if m.HostPort == 0 || m.ContainerPort == 0 || (m.HostPortEnd != 0 && m.HostPortEnd != m.HostPort) {
		return fmt.Errorf("port %s: host port not chosen yet", m)
	}
	if m.HostIP.IsValid() && !m.HostIP.Is4() {
		return fmt.Errorf("port %s: IPv6 host addresses are not supported", m)
	}
	return nil
}

// normalize returns ports with 0.0.0.0 as the zero Addr (every address)
// and IPv4-mapped IPv6 host addresses as IPv4.
func normalize(ports []PortMapping) []PortMapping {
	out := make([]PortMapping, len(ports))
	for i, m := range ports {
		m.HostIP = m.HostIP.Unmap()
		if m.HostIP.Is4() && m.HostIP.IsUnspecified() {
			m.HostIP = netip.Addr{}
		}
		out[i] = m
	}
	return out
}

// overlaps reports whether two published ports catch the same traffic.
func overlaps(a Published, b PortMapping) bool {
	return a.Proto == b.Proto && a.HostPort == b.HostPort &&
		(!a.HostIP.IsValid() || !b.HostIP.IsValid() || a.HostIP == b.HostIP)
}

// AddPorts publishes a container's ports to its address cip, replacing
// the ports it had. A port another container publishes already is an
// error and nothing changes. Each port gets a DNAT rule in prerouting
// (traffic from outside and from containers) and in output (the host's own
// traffic, 127.0.0.1 included once EnableRouteLocalnet ran for the bridge);
// the client's address is kept except for loopback and hairpin clients.
func (f *Firewall) AddPorts(containerID string, cip netip.Addr, ports []PortMapping) error {
	if err := validID("container", containerID); err != nil {
		return err
	}
	if !cip.Is4() {
		return fmt.Errorf("container %s: address %s is not IPv4", containerID, cip)
	}
	pub, err := f.Published()
	if err != nil {
		return err
	}
	ports = normalize(ports)
	var rules []newRule
	for i, m := range ports {
		if err := validMapping(m); err != nil {
			return err
		}
		for _, p := range pub {
			if p.ContainerID != containerID && overlaps(p, m) {
				return fmt.Errorf("bind for %s failed: port is already allocated (container %.12s)", describe(m, cip), p.ContainerID)
			}
		}
		for _, o := range ports[:i] {
			if overlaps(Published{HostIP: o.HostIP, HostPort: o.HostPort, Proto: o.Proto}, m) {
				return fmt.Errorf("port %s published twice", m)
			}
		}
		dst := localDst()
		if m.HostIP.IsValid() {
			dst = daddr(netip.PrefixFrom(m.HostIP, 32))
		}
		e := join(ipv4(), dst, l4port(m.Proto, m.HostPort), dnatTo(cip, m.ContainerPort))
		what := describe(m, cip)
		rules = append(rules, newRule{chain: chainPrerouting, what: what, exprs: e},
			newRule{chain: chainOutput, what: what, exprs: e})
	}
	return f.replace("ctr="+containerID, rules)
}

// RemovePorts removes every rule of the container; none is fine.
func (f *Firewall) RemovePorts(containerID string) error {
	if err := validID("container", containerID); err != nil {
		return err
	}
	return f.replace("ctr="+containerID, nil)
}

// Published lists the ports berth publishes (from the prerouting rules).
func (f *Firewall) Published() ([]Published, error) {
	rules, err := f.List()
	if err != nil {
		return nil, err
	}
	var out []Published
	for _, r := range rules {
		if r.Chain != chainPrerouting || !strings.HasPrefix(r.Owner, "ctr=") {
			continue
		}
		tail := strings.TrimPrefix(r.Comment, "berth "+r.Owner+" ")
		p, ok := parseDescribe(tail)
		if !ok {
			continue
		}
		p.ContainerID = strings.TrimPrefix(r.Owner, "ctr=")
		out = append(out, p)
	}
	return out, nil
}

// InUse returns a func for FreePort that reports ports berth publishes
// for proto.
func InUse(pub []Published, proto string) func(uint16) bool {
	set := make(map[uint16]bool)
	for _, p := range pub {
		if p.Proto == proto {
			set[p.HostPort] = true
		}
	}
	return func(p uint16) bool { return set[p] }
}
