package ocispec

import (
	"bufio"
	"bytes"
	"net/netip"
	"strings"
)

// HostsFile is a container's /etc/hosts as Docker writes it: localhost
// entries, the --add-host entries ("name:addr" or "name=addr"), then the
// container's own address (or 127.0.0.1 without one) with its host name
// (and the name's first label when it has dots).
func HostsFile(host string, addr netip.Addr, extra []string) []byte {
	var b strings.Builder
	b.WriteString(hostsHeader)
	for _, h := range extra {
		name, ip, ok := SplitAddHost(h)
		if ok {
			b.WriteString(ip + "\t" + name + "\n")
		}
	}
	self := "127.0.0.1"
	if addr.IsValid() {
		self = addr.String()
	}
	b.WriteString(self + "\t" + host)
	if short, _, ok := strings.Cut(host, "."); ok && short != "" {
		b.WriteString(" " + short)
	}
	b.WriteString("\n")
	return []byte(b.String())
}

// SplitAddHost parses an --add-host value, "name:addr" or "name=addr"
// (Docker's two forms; an IPv6 address may be in brackets). ok is false
// for a value without a name, or whose address does not parse.
func SplitAddHost(s string) (name, addr string, ok bool) {
	i := strings.IndexAny(s, ":=")
	if i <= 0 {
		return "", "", false
	}
	name, addr = s[:i], strings.TrimSuffix(strings.TrimPrefix(s[i+1:], "["), "]")
	if strings.ContainsAny(name, " \t\n\r#") {
		return "", "", false
	}
	if addr == "host-gateway" {
		return "", "", false
	}
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		// A zone (fe80::1%eth0) is free text: not in a hosts file.
		return "", "", false
	}
	return name, a.String(), true
}

// ResolvConf is a container's /etc/resolv.conf from the host's: the
// nameservers are servers when given (--dns, or a user network's DNS
// server), else the host's minus loopback ones (Docker's rule: 8.8.8.8
// and 8.8.4.4 when none is left); search replaces the host's search
// domains when given (--dns-search). Other lines (options) are kept.
func ResolvConf(host []byte, servers, search []string) []byte {
	// Values are user input: one that could end its line and add another
	// (a newline in a zone or domain) never reaches the file.
	servers, search = keep(servers, ValidDNSServer), keep(search, ValidSearchDomain)
	if len(servers) == 0 {
		host = filterResolvConf(host)
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(host))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) >= 1 && ((f[0] == "nameserver" && len(servers) > 0) || ((f[0] == "search" || f[0] == "domain") && len(search) > 0)) {
			continue
		}
		out.WriteString(line + "\n")
	}
	if len(search) > 0 {
		out.WriteString("search " + strings.Join(search, " ") + "\n")
	}
	for _, s := range servers {
		out.WriteString("nameserver " + s + "\n")
	}
	return out.Bytes()
}

// ValidDNSServer says s is a name server address fit for resolv.conf:
// an IP address without a zone (a zone is free text, newlines included).
func ValidDNSServer(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Zone() == ""
}

// ValidSearchDomain says s is one resolv.conf search domain: not empty,
// printable ASCII (a name in DNS form, IDNs as punycode) without white
// space or comment characters.
func ValidSearchDomain(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r >= 0x7f || r == '#' || r == ';' {
			return false
		}
	}
	return true
}

// keep returns the values of vs that ok accepts.
func keep(vs []string, ok func(string) bool) []string {
	var out []string
	for _, v := range vs {
		if ok(v) {
			out = append(out, v)
		}
	}
	return out
}
