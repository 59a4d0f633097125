// Package network keeps berth's network records and their address leases.
//
// A network is a Record (name, 64-hex id, driver "bridge", bridge
// interface, subnet, gateway, internal, labels, created) in the bbolt file
// <root>/networks/networks.db, opened per transaction through
// internal/boltfile as the engine's containers.db: bbolt's file lock
// serialises writers across berth processes, and one transaction covers
// each check-then-write (a name's uniqueness, a subnet's overlap, an
// address's lease), so berth commands running at once are safe. Leases
// (network/ipam) live in the same file, so removing a network and
// checking it has no leases is one transaction too.
//
// The default network "bridge" (interface berth0) is created on first use
// by Store.Default; user networks use br-<first 12 hex digits of the id>.
package network
