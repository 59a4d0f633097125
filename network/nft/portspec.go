package nft

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// maxRange caps how many ports one -p may publish, so that a typo such as
// 1-65535 does not create 130000 rules.
const maxRange = 1024

// PortMapping is one published port: traffic to HostIP:HostPort/Proto goes
// to the container's ContainerPort.
//
// HostIP is the zero Addr for every host address. HostPort 0 means the
// engine picks a free port (FreePort); HostPortEnd > HostPort means the
// engine picks one free port in HostPort..HostPortEnd (Docker's
// "8000-8010:80"). Otherwise HostPortEnd equals HostPort.
type PortMapping struct {
	HostIP        netip.Addr
	HostPort      uint16
	HostPortEnd   uint16
	ContainerPort uint16
	Proto         string
}

// String renders m in -p syntax.
func (m PortMapping) String() string {
	var b strings.Builder
	if m.HostIP.IsValid() {
		if m.HostIP.Is6() && !m.HostIP.Is4In6() {
			b.WriteString("[" + m.HostIP.String() + "]:")
		} else {
			b.WriteString(m.HostIP.String() + ":")
		}
	}
	switch {
	case m.HostPort == 0:
		if m.HostIP.IsValid() {
			b.WriteString(":")
		}
	case m.HostPortEnd > m.HostPort:
		fmt.Fprintf(&b, "%d-%d:", m.HostPort, m.HostPortEnd)
	default:
		fmt.Fprintf(&b, "%d:", m.HostPort)
	}
	fmt.Fprintf(&b, "%d/%s", m.ContainerPort, m.Proto)
	return b.String()
}

// ParsePortSpec parses one -p value in Docker's grammar,
// [hostip:][hostport:]containerport[/proto], where either port may be a
// range "a-b" (ranges of equal length map port to port; a host range with
// one container port means one free port of that range), hostip may be
// "[v6]", "hostip::containerport" leaves the host port to be chosen and
// proto is tcp (default) or udp. It returns one mapping per container port.
func ParsePortSpec(spec string) ([]PortMapping, error) {
	if spec == "" {
		return nil, fmt.Errorf("invalid port spec %q: empty", spec)
	}
	if len(spec) > 128 {
		return nil, fmt.Errorf("invalid port spec %.32q...: too long", spec)
	}
	rest, proto := spec, "tcp"
	if i := strings.LastIndexByte(spec, '/'); i >= 0 {
		rest, proto = spec[:i], strings.ToLower(spec[i+1:])
		switch proto {
		case "tcp", "udp":
		case "":
			return nil, fmt.Errorf("invalid port spec %q: empty protocol", spec)
		default:
			return nil, fmt.Errorf("invalid port spec %q: protocol %q not supported (tcp or udp)", spec, proto)
		}
	}
	hostIP, hostPart, ctrPart, err := splitSpec(rest)
	if err != nil {
		return nil, fmt.Errorf("invalid port spec %q: %w", spec, err)
	}
	var ip netip.Addr
	if hostIP != "" {
		ip, err = netip.ParseAddr(hostIP)
		if err != nil || ip.Zone() != "" {
			return nil, fmt.Errorf("invalid port spec %q: invalid host address %q", spec, hostIP)
		}
		ip = ip.Unmap()
		if ip.IsUnspecified() && ip.Is4() {
			ip = netip.Addr{} // 0.0.0.0 is the default: every address
		}
	}
	cLo, cHi, err := parseRange(ctrPart)
	if err != nil {
		return nil, fmt.Errorf("invalid port spec %q: container port: %w", spec, err)
	}
	var hLo, hHi uint16
	if hostPart != "" {
		if hLo, hHi, err = parseRange(hostPart); err != nil {
			return nil, fmt.Errorf("invalid port spec %q: host port: %w", spec, err)
		}
	}
	n := int(cHi-cLo) + 1
	if n > maxRange {
		return nil, fmt.Errorf("invalid port spec %q: range of %d ports, at most %d", spec, n, maxRange)
	}
	out := make([]PortMapping, 0, n)
	switch {
	case hostPart == "":
		for p := int(cLo); p <= int(cHi); p++ {
			out = append(out, PortMapping{HostIP: ip, ContainerPort: uint16(p), Proto: proto})
		}
	case cLo == cHi && hHi > hLo:
		out = append(out, PortMapping{HostIP: ip, HostPort: hLo, HostPortEnd: hHi, ContainerPort: cLo, Proto: proto})
	case hHi-hLo != cHi-cLo:
		return nil, fmt.Errorf("invalid port spec %q: host range %d-%d and container range %d-%d differ in length", spec, hLo, hHi, cLo, cHi)
	default:
		for i := 0; i < n; i++ {
			hp := hLo + uint16(i)
			out = append(out, PortMapping{HostIP: ip, HostPort: hp, HostPortEnd: hp, ContainerPort: cLo + uint16(i), Proto: proto})
		}
	}
	return out, nil
}

// splitSpec splits "[ip:][host:]ctr" into its parts; an IPv6 host address
// must be in brackets.
func splitSpec(s string) (ip, host, ctr string, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", "", fmt.Errorf("unterminated [ in host address")
		}
		ip, s = s[1:end], s[end+1:]
		if !strings.HasPrefix(s, ":") {
			return "", "", "", fmt.Errorf("expected ':' after host address")
		}
		parts := strings.Split(s[1:], ":")
		if len(parts) != 2 {
			return "", "", "", fmt.Errorf("expected [ip]:hostport:containerport")
		}
		if ip == "" {
			return "", "", "", fmt.Errorf("empty host address")
		}
		return ip, parts[0], parts[1], nil
	}
	parts := strings.Split(s, ":")
	switch len(parts) {
	case 1:
		return "", "", parts[0], nil
	case 2:
		if parts[0] == "" {
			return "", "", "", fmt.Errorf("empty host port")
		}
		return "", parts[0], parts[1], nil
	case 3:
		if parts[0] == "" {
			return "", "", "", fmt.Errorf("empty host address")
		}
		return parts[0], parts[1], parts[2], nil
	default:
		return "", "", "", fmt.Errorf("too many ':' (IPv6 host addresses go in brackets)")
	}
}

// parseRange parses "p" or "a-b" with 1 <= a <= b <= 65535.
func parseRange(s string) (lo, hi uint16, err error) {
	a, b, isRange := strings.Cut(s, "-")
	if lo, err = parsePort(a); err != nil {
		return 0, 0, err
	}
	if !isRange {
		return lo, lo, nil
	}
	if hi, err = parsePort(b); err != nil {
		return 0, 0, err
	}
	if hi < lo {
		return 0, 0, fmt.Errorf("range %q: end before start", s)
	}
	return lo, hi, nil
}

// parsePort parses a decimal port 1..65535 (no sign, no leading '+').
func parsePort(s string) (uint16, error) {
	if s == "" {
		return 0, fmt.Errorf("empty port")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("invalid port %q", s)
		}
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("invalid port %q: must be 1-65535", s)
	}
	return uint16(n), nil
}
