// Package ipam manages IPv4 addresses for berth's bridge networks: it
// parses and checks the subnet, gateway and fixed-address flags, chooses a
// free subnet from address pools (skipping subnets of other networks and
// of the host's routes), and keeps per-network address leases keyed by
// container ID in a bbolt bucket that the caller owns, so allocation runs
// inside the caller's transaction and is safe across berth processes.
//
// IPv6 is parsed and refused with a clear error; it is not supported yet.
package ipam
