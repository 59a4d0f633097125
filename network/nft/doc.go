// Package nft keeps berth's firewall rules in an nftables table of its own,
// "table inet berth", beside whatever the host's firewall has (nftables or
// iptables-nft): berth never touches another table.
//
// The table holds base chains only (plus one regular chain for isolation),
// so that creating it is idempotent and two berth processes can do it at
// once: every call sends one atomic batch that adds the table and chains
// (a no-op when they exist), deletes the rules of one owner and adds the
// owner's new ones.
//
// Every rule carries a comment naming its owner, "berth net=<id> ..." for a
// network's rules and "berth ctr=<id> ..." for a container's published
// ports, so that removing a network or a container removes exactly its
// rules. The kernel is the only record: nothing is written to disk, and
// after a reboot the engine adds the rules again.
//
// Chains:
//
//	isolation    filter forward, priority -10: --internal drops, the jump to
//	             isolate for traffic leaving a bridge (not DNATed)
//	isolate      regular: traffic entering another berth bridge is dropped
//	forward      filter forward, priority 0: established, outbound, DNATed
//	             inbound accepted; other inbound to a bridge dropped
//	prerouting   nat prerouting, priority -100: published ports (DNAT)
//	output       nat output, priority -100: published ports for the host's
//	             own traffic (127.0.0.1 needs route_localnet on the bridge)
//	postrouting  nat postrouting, priority 100: masquerade outbound,
//	             loopback-sourced and hairpin traffic
package nft
