package nft

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/google/nftables/expr"
)

// Network is what the firewall needs of a berth network.
type Network struct {
	ID       string       // the network's id (owner tag "net=<ID>")
	Bridge   string       // its bridge interface, e.g. berth0 or br-<12 hex>
	Subnet   netip.Prefix // IPv4 subnet of the containers
	Internal bool         // --internal: no traffic in or out of the bridge
}

// validIfname checks a Linux interface name.
func validIfname(n string) error {
	if n == "" || len(n) > 15 || n == "." || n == ".." || strings.ContainsAny(n, "/: \t\n\x00") {
		return fmt.Errorf("invalid interface name %q", n)
	}
	return nil
}

func (n Network) validate() error {
	if err := validID("network", n.ID); err != nil {
		return err
	}
	if err := validIfname(n.Bridge); err != nil {
		return fmt.Errorf("network %s: %w", n.ID, err)
	}
	if !n.Subnet.IsValid() || !n.Subnet.Addr().Is4() {
		return fmt.Errorf("network %s: subnet %s is not an IPv4 prefix", n.ID, n.Subnet)
	}
	return nil
}

// networkRules returns a network's rules.
func networkRules(n Network) []newRule {
	br, sub := n.Bridge, n.Subnet.Masked()
	loop := netip.MustParsePrefix("127.0.0.0/8")
	var r []newRule
	// The bridge and subnet are in each comment: AddNetwork keeps rules
	// whose comments match, so rules for other ones must not.
	tag := " " + br + " " + sub.String()
	add := func(chain, what string, e ...[]expr.Any) {
		r = append(r, newRule{chain: chain, what: what + tag, exprs: join(e...)})
	}
	drop := []expr.Any{verdict(expr.VerdictDrop)}
	accept := []expr.Any{verdict(expr.VerdictAccept)}
	if n.Internal {
		add(chainIsolation, "internal-out", iif(expr.CmpOpEq, br), oif(expr.CmpOpNeq, br), drop)
		add(chainIsolation, "internal-in", oif(expr.CmpOpEq, br), iif(expr.CmpOpNeq, br), drop)
	} else {
		// Docker's two-stage isolation: what leaves this bridge for another
		// one goes to isolate, where each bridge drops what enters it.
		// DNATed flows pass: a published port is meant to be reachable.
		add(chainIsolation, "isolation-leave", iif(expr.CmpOpEq, br), oif(expr.CmpOpNeq, br), dnatted(false),
			[]expr.Any{jump(chainIsolate)})
		add(chainForward, "established", oif(expr.CmpOpEq, br), established(), accept)
		add(chainForward, "outbound", iif(expr.CmpOpEq, br), accept)
		add(chainForward, "published", oif(expr.CmpOpEq, br), dnatted(true), accept)
		add(chainForward, "unsolicited", oif(expr.CmpOpEq, br), iif(expr.CmpOpNeq, br), drop)
		add(chainPostrouting, "masquerade", ipv4(), saddr(sub), oif(expr.CmpOpNeq, br), []expr.Any{&expr.Masq{}})
		// A container reaching a published port of its own bridge through a
		// host address: without SNAT the reply would skip the host.
		add(chainPostrouting, "hairpin", ipv4(), saddr(sub), oif(expr.CmpOpEq, br), dnatted(true), []expr.Any{&expr.Masq{}})
	}
	add(chainIsolate, "isolation-enter", oif(expr.CmpOpEq, br), drop)
	// The host's own 127.0.0.1 clients of a published port (route_localnet
	// lets them leave through the bridge; the reply needs a real address).
	add(chainPostrouting, "loopback", ipv4(), saddr(loop), oif(expr.CmpOpEq, br), []expr.Any{&expr.Masq{}})
	return r
}

// AddNetwork installs a network's rules, replacing any it had (so it is
// also how the engine restores them after a reboot); rules already as
// they should be (the same chains and comments, which name the bridge and
// subnet) are left alone, without a commit.
func (f *Firewall) AddNetwork(n Network) error {
	if err := n.validate(); err != nil {
		return err
	}
	return f.update("net="+n.ID, networkRules(n), true)
}

// RemoveNetwork removes every rule of the network id; none is fine.
func (f *Firewall) RemoveNetwork(id string) error {
	if err := validID("network", id); err != nil {
		return err
	}
	return f.replace("net="+id, nil)
}
