package server

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"berth/network/dns"
)

// otherNet is a second network of the test's root.
const otherNet = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

// TestLinkedNetworks: a container on two networks resolves, through one
// network's server, the names of the other network's containers; a
// container on the first network only does not; a change of the other
// network's records is seen at the next query.
func TestLinkedNetworks(t *testing.T) {
	root := newRoot(t)
	if err := os.MkdirAll(filepath.Join(root, "networks", otherNet), 0o700); err != nil {
		t.Fatal(err)
	}
	// web (10.89.0.2) is on both networks; db (10.89.0.3) on the first only.
	update(t, root, func(r *dns.Records) error {
		if err := baseRecords(r); err != nil {
			return err
		}
		r.Containers[0].Networks = []string{otherNet}
		return nil
	})
	other := func(names ...string) {
		t.Helper()
		err := dns.Update(context.Background(), root, otherNet, nil, func(r *dns.Records) error {
			r.Listen, r.Domain, r.Subnets = "127.0.0.1:53", "n2", []string{"10.90.0.0/24"}
			r.Containers = []dns.Container{
				{ID: idWeb, Names: []string{"web"}, IPv4: []string{"10.90.0.2"}, Networks: []string{testNet}},
				{ID: idDB, Names: names, IPv4: []string{"10.90.0.7"}},
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	other("cache", "redis")
	dir, _ := dns.Dir(root, testNet)
	st := &state{dir: dir, root: root, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	st.reload()
	h := &handler{
		current: st.table, refresh: st.refresh, linked: st.linked,
		upstreams: func() []string { return nil }, fwd: newForwarder(time.Millisecond), ttl: 5,
		log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	ask := func(from, name string) (int, string) {
		t.Helper()
		q := new(mdns.Msg)
		q.SetQuestion(name, mdns.TypeA)
		resp := h.answerFrom(context.Background(), q, false, netip.MustParseAddr(from))
		var got []string
		for _, rr := range resp.Answer {
			got = append(got, rr.(*mdns.A).A.String())
		}
		return resp.Rcode, strings.Join(got, ",")
	}
	for _, c := range []struct {
		from, name string
		rcode      int
		want       string
	}{
		{"10.89.0.2", "cache.", mdns.RcodeSuccess, "10.90.0.7"},
		{"10.89.0.2", "redis.n2.", mdns.RcodeSuccess, "10.90.0.7"},
		{"10.89.0.2", "db.", mdns.RcodeSuccess, "10.89.0.3"}, // its own network first
		{"10.89.0.2", "nothere.n2.", mdns.RcodeNameError, ""},
		{"10.89.0.3", "cache.", mdns.RcodeServerFailure, ""}, // not on n2: forwarded (no upstream here)
		{"10.89.0.3", "redis.n2.", mdns.RcodeServerFailure, ""},
		{"127.0.0.1", "cache.", mdns.RcodeServerFailure, ""},
	} {
		if rcode, got := ask(c.from, c.name); rcode != c.rcode || got != c.want {
			t.Errorf("%s asks %s: rcode %d %q, want %d %q", c.from, c.name, rcode, got, c.rcode, c.want)
		}
	}
	// The other network changes: the next query sees it.
	time.Sleep(10 * time.Millisecond) // a new mtime even on coarse clocks
	other("queue")
	if rcode, got := ask("10.89.0.2", "queue."); rcode != mdns.RcodeSuccess || got != "10.90.0.7" {
		t.Errorf("after the other network's change: %d %q", rcode, got)
	}
	if _, got := ask("10.89.0.2", "cache."); got != "" {
		t.Errorf("a name removed from the other network still answers %q", got)
	}
	// Its records gone: nothing from it, no failure.
	if err := os.Remove(dns.RecordsPath(filepath.Join(root, "networks", otherNet))); err != nil {
		t.Fatal(err)
	}
	if rcode, got := ask("10.89.0.2", "queue."); rcode != mdns.RcodeServerFailure || got != "" {
		t.Errorf("after the other network's records went: %d %q", rcode, got)
	}
}
