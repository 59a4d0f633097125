// Package dns is the name server of a user-defined network (the role
// aardvark-dns plays for Podman and the embedded DNS for Docker).
//
// One server runs per user network, in the host's network namespace, bound
// to the network's gateway address, port 53, over UDP and TCP. Containers on
// the network get that address as their nameserver. It answers A, AAAA and
// PTR for the containers of its network — names, 12-character short IDs,
// --network-alias values, case-insensitively, also under the network's
// domain — from the records file <root>/networks/<id>/dns.json,
// and forwards every other name to the host's resolvers (read from the
// host's resolv.conf; a loopback resolver such as systemd-resolved's
// 127.0.0.53 is reachable from the host's namespace, which is why the server
// runs there and not in the container).
//
// This package is the engine's side: the records, their files and locks,
// and the server's process; network/dns/server is the server (Serve),
// which alone links miekg/dns, so that berth does not (berth-full runs
// `dns-serve`). The engine changes the records with Update, which writes
// the file atomically under <dir>/dns.lock and starts the server (through
// a command the engine supplies: `berth dns-serve --network ID --root
// ROOT`, which calls server.Serve) when a container is left and none runs. The server holds an
// flock on <dir>/dns.pid while it runs, reloads the file when it changes, and
// exits once the file lists no container (or is gone), deciding so under
// dns.lock so that an Update at the same moment either sees it gone and
// starts another, or is seen by it.
//
// Queries come from containers and are hostile input: a malformed packet is
// dropped or answered FORMERR, only standard queries with one question of
// class IN are served, a UDP answer is never larger than the query allowed
// (512 bytes without EDNS, at most 1232 with it; longer answers are truncated
// with TC set), queries of type ANY are answered from the records for the
// network's own names and refused otherwise (never forwarded), and at most
// a bounded number of forwards run at once.
package dns
