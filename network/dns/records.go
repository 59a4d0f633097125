package dns

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Limits on a records file, which others may write: a file past them is
// rejected whole and the server keeps its last good records.
const (
	maxRecordsSize     = 16 << 20
	maxContainers      = 65536
	maxNamesPerEntry   = 256
	maxAddrsPerEntry   = 64
	maxSubnets         = 64
	maxLinkedNetworks  = 64
	recordsFileVersion = 1
)

// Records is the content of a network's records file (dns.json), written by
// the engine and read by the network's server.
type Records struct {
	// Version is 1.
	Version int `json:"version"`
	// Listen is the address the server binds, "gateway:53".
	Listen string `json:"listen"`
	// Domain, when set (the network's name), makes every name resolvable
	// also as name.domain; other names under it are answered NXDOMAIN and
	// never forwarded.
	Domain string `json:"domain,omitempty"`
	// Subnets are the network's subnets (CIDR): reverse lookups of their
	// addresses are answered here, never forwarded.
	Subnets []string `json:"subnets,omitempty"`
	// Containers are the containers on the network now.
	Containers []Container `json:"containers"`
}

// Container is one container's entry in a network's records.
type Container struct {
	// ID is the container's 64-hex ID; its first 12 characters resolve to
	// the container.
	ID string `json:"id"`
	// Names are the container's name, then its --network-alias values (and
	// any other name it answers to on this network). The first is the
	// answer to reverse lookups.
	Names []string `json:"names"`
	// IPv4 and IPv6 are the container's addresses on this network.
	IPv4 []string `json:"ipv4,omitempty"`
	IPv6 []string `json:"ipv6,omitempty"`
	// Networks are the IDs of the container's other networks: its queries
	// that this network cannot answer are looked up in their records too,
	// so that a container on several networks resolves the names of each
	// (as Docker's), and a container on this one only does not.
	Networks []string `json:"networks,omitempty"`
}

// Host is what one name resolves to.
type Host struct {
	V4, V6 []netip.Addr
}

// Table is the compiled form of Records the server looks in; read-only
// once Compile returns it.
type Table struct {
	Names   map[string]*Host      // lower-case FQDN → addresses
	PTR     map[netip.Addr]string // address → FQDN of its first name
	Domain  string                // FQDN of the network's domain, "" if none
	Subnets []netip.Prefix
	Count   int // containers
	Listen  string
	// Linked maps a container's address to its other networks' IDs.
	Linked map[netip.Addr][]string
}

// EmptyTable is the table of records that list nothing.
func EmptyTable() *Table {
	return &Table{Names: map[string]*Host{}, PTR: map[netip.Addr]string{}}
}

// ParseRecords decodes and checks a records file.
func ParseRecords(data []byte) (*Records, error) {
	if len(data) > maxRecordsSize {
		return nil, fmt.Errorf("records file has %d bytes, more than %d", len(data), maxRecordsSize)
	}
	var r Records
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("decode records: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode records: trailing data after the object")
	}
	if _, err := Compile(&r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Compile checks r and builds its lookup table.
func Compile(r *Records) (*Table, error) {
	if r.Version != recordsFileVersion {
		return nil, fmt.Errorf("records version %d, want %d", r.Version, recordsFileVersion)
	}
	if len(r.Containers) > maxContainers {
		return nil, fmt.Errorf("%d containers, more than %d", len(r.Containers), maxContainers)
	}
	if len(r.Subnets) > maxSubnets {
		return nil, fmt.Errorf("%d subnets, more than %d", len(r.Subnets), maxSubnets)
	}
	t := &Table{
		Names:  make(map[string]*Host),
		PTR:    make(map[netip.Addr]string),
		Linked: make(map[netip.Addr][]string),
		Count:  len(r.Containers),
		Listen: r.Listen,
	}
	if r.Listen != "" {
		if _, err := netip.ParseAddrPort(r.Listen); err != nil {
			return nil, fmt.Errorf("listen address %q: %w", r.Listen, err)
		}
	}
	if r.Domain != "" {
		d, err := checkName(r.Domain)
		if err != nil {
			return nil, fmt.Errorf("domain: %w", err)
		}
		t.Domain = d
	}
	for _, s := range r.Subnets {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("subnet %q: %w", s, err)
		}
		t.Subnets = append(t.Subnets, p.Masked())
	}
	for i, c := range r.Containers {
		if err := addContainer(t, &c); err != nil {
			return nil, fmt.Errorf("container %d (%.64q): %w", i, c.ID, err)
		}
	}
	return t, nil
}

// addContainer adds one container's names and reverse entries to t.
func addContainer(t *Table, c *Container) error {
	if !isHexID(c.ID) {
		return errors.New("id is not 64 lower-case hex digits")
	}
	if len(c.Names) > maxNamesPerEntry || len(c.IPv4)+len(c.IPv6) > maxAddrsPerEntry {
		return errors.New("too many names or addresses")
	}
	var h Host
	for _, s := range c.IPv4 {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			return fmt.Errorf("bad IPv4 address %.64q", s)
		}
		h.V4 = append(h.V4, a)
	}
	for _, s := range c.IPv6 {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is6() || a.Is4In6() || a.Zone() != "" {
			return fmt.Errorf("bad IPv6 address %.64q", s)
		}
		h.V6 = append(h.V6, a)
	}
	if len(c.Networks) > maxLinkedNetworks {
		return errors.New("too many networks")
	}
	for _, id := range c.Networks {
		if !isHexID(id) {
			return fmt.Errorf("network id %.64q is not 64 lower-case hex digits", id)
		}
	}
	if len(c.Networks) > 0 {
		for _, a := range append(append([]netip.Addr(nil), h.V4...), h.V6...) {
			t.Linked[a] = c.Networks
		}
	}
	names := make([]string, 0, len(c.Names)+2)
	for _, n := range c.Names {
		fq, err := checkName(n)
		if err != nil {
			return fmt.Errorf("name: %w", err)
		}
		names = append(names, fq)
	}
	// The short ID, as Docker; the full ID is a 64-character label, longer
	// than DNS allows, so no query can name it.
	names = append(names, c.ID[:12]+".")
	for i, fq := range names {
		t.add(fq, &h)
		if t.Domain != "" && !strings.HasSuffix(fq, "."+t.Domain) {
			t.add(strings.TrimSuffix(fq, ".")+"."+t.Domain, &h)
		}
		if i == 0 {
			for _, a := range append(append([]netip.Addr(nil), h.V4...), h.V6...) {
				if _, ok := t.PTR[a]; !ok {
					t.PTR[a] = t.qualified(fq)
				}
			}
		}
	}
	return nil
}

// add merges h's addresses into the entry for fq: an alias shared by
// several containers resolves to all of them, as Docker's.
func (t *Table) add(fq string, h *Host) {
	e := t.Names[fq]
	if e == nil {
		e = &Host{}
		t.Names[fq] = e
	}
	e.V4 = appendNew(e.V4, h.V4)
	e.V6 = appendNew(e.V6, h.V6)
}

// qualified is fq under the network's domain, when it has one.
func (t *Table) qualified(fq string) string {
	if t.Domain == "" || strings.HasSuffix(fq, "."+t.Domain) {
		return fq
	}
	return strings.TrimSuffix(fq, ".") + "." + t.Domain
}

// appendNew appends the addresses of add that dst lacks.
func appendNew(dst, add []netip.Addr) []netip.Addr {
outer:
	for _, a := range add {
		for _, d := range dst {
			if d == a {
				continue outer
			}
		}
		dst = append(dst, a)
	}
	return dst
}

// ValidName says n can be a name in the records: labels of letters,
// digits, '-' and '_', each 1 to 63 bytes, 253 in all. A container or
// network name Docker allows may not be one ("a..b", 64 letters).
func ValidName(n string) bool {
	_, err := checkName(n)
	return err == nil
}

// checkName checks a name from the records and returns it lower-case and
// fully qualified.
func checkName(n string) (string, error) {
	if n == "" || len(n) > 253 {
		return "", fmt.Errorf("%.64q: empty or longer than 253", n)
	}
	for _, label := range strings.Split(strings.TrimSuffix(n, "."), ".") {
		if label == "" || len(label) > 63 {
			return "", fmt.Errorf("%.64q: empty label or one longer than 63", n)
		}
		for _, ch := range label {
			ok := ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_'
			if !ok {
				return "", fmt.Errorf("%.64q: character %q not allowed", n, ch)
			}
		}
	}
	// Lower case and fully qualified: the letters are ASCII (above).
	n = strings.ToLower(n)
	if !strings.HasSuffix(n, ".") {
		n += "."
	}
	return n, nil
}

// isHexID reports whether s is a 64-character lower-case hex ID.
func isHexID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, ch := range s {
		if !(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f') {
			return false
		}
	}
	return true
}
