package server

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"berth/network/dns"
)

// BenchmarkLocalQueryUDP is one A query of a container name over UDP on
// loopback, client included.
func BenchmarkLocalQueryUDP(b *testing.B) {
	root := b.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "networks", testNet), 0o700); err != nil {
		b.Fatal(err)
	}
	if err := dns.Update(b.Context(), root, testNet, nil, baseRecords); err != nil {
		b.Fatal(err)
	}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(b.Context())
	go func() {
		done <- Serve(ctx, Options{Root: root, Network: testNet, Listen: "127.0.0.2:0", Upstreams: []string{},
			Ready: func(a netip.AddrPort) { ready <- a.String() }})
	}()
	addr := <-ready
	defer func() { cancel(); <-done }()
	c := &mdns.Client{Net: "udp", Timeout: time.Second}
	conn, err := c.Dial(addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	m := new(mdns.Msg)
	m.SetQuestion("web.", mdns.TypeA)
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := c.ExchangeWithConn(m, conn); err != nil {
			b.Fatal(err)
		}
	}
}
