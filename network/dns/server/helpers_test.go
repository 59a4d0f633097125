package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"berth/network/dns"
)

// TestMain lets the test binary be the server process that dns.Update starts
// (as `berth dns-serve` will).
func TestMain(m *testing.M) {
	if os.Getenv("BERTH_DNS_TEST_SERVE") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		err := Serve(ctx, Options{
			Root: os.Getenv("BERTH_DNS_ROOT"), Network: os.Getenv("BERTH_DNS_NET"),
			Upstreams: []string{}, Poll: 20 * time.Millisecond,
		})
		if err != nil && !errors.Is(err, ErrRunning) {
			fmt.Fprintln(os.Stderr, "dns-serve:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const (
	testNet = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	idWeb   = "aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111"
	idDB    = "bbbbbbbbbbbb2222222222222222222222222222222222222222222222222222"
)

// newRoot makes a berth root with the test network's directory.
func newRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "networks", testNet), 0o700); err != nil {
		t.Fatal(err)
	}
	return root
}

// baseRecords are two containers on 10.89.0.0/24, domain "mynet".
func baseRecords(r *dns.Records) error {
	r.Listen = "127.0.0.1:53"
	r.Domain = "mynet"
	r.Subnets = []string{"10.89.0.0/24", "fd00:89::/64"}
	r.Containers = []dns.Container{
		{ID: idWeb, Names: []string{"web", "frontend"}, IPv4: []string{"10.89.0.2"}},
		{ID: idDB, Names: []string{"db", "Store"}, IPv4: []string{"10.89.0.3"}, IPv6: []string{"fd00:89::3"}},
	}
	return nil
}

// update changes the records without starting a server.
func update(t *testing.T, root string, fn func(*dns.Records) error) {
	t.Helper()
	if err := dns.Update(context.Background(), root, testNet, nil, fn); err != nil {
		t.Fatal(err)
	}
}

// testServer is a Serve running in the test.
type testServer struct {
	addr string
	done chan error
}

// startServer runs Serve on 127.0.0.2 (a free port) until the test ends.
func startServer(t *testing.T, root string, upstreams []string, timeout time.Duration) *testServer {
	t.Helper()
	return startServerWith(t, root, upstreams, timeout, 0)
}

// startServerWith is startServer with the server's Linger.
func startServerWith(t *testing.T, root string, upstreams []string, timeout, linger time.Duration) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan netip.AddrPort, 1)
	ts := &testServer{done: make(chan error, 1)}
	go func() {
		ts.done <- Serve(ctx, Options{
			Root: root, Network: testNet, Listen: "127.0.0.2:0",
			Upstreams: upstreams, Poll: 20 * time.Millisecond, Timeout: timeout, Linger: linger,
			Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
			Ready:  func(a netip.AddrPort) { ready <- a },
		})
	}()
	select {
	case a := <-ready:
		ts.addr = a.String()
	case err := <-ts.done:
		cancel()
		t.Fatalf("Serve: %v", err)
	case <-time.After(5 * time.Second):
		cancel()
		t.Fatal("server did not start")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-ts.done:
		case <-time.After(5 * time.Second):
			t.Error("server did not stop")
		}
	})
	return ts
}

// testWriter sends the server's log to the test's.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// query asks addr over net ("udp" or "tcp").
func query(t *testing.T, network, addr, name string, qtype uint16) *mdns.Msg {
	t.Helper()
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	c := &mdns.Client{Net: network, Timeout: 5 * time.Second}
	resp, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("query %s %s: %v", name, mdns.TypeToString[qtype], err)
	}
	return resp
}

// addrs are the A and AAAA answers of resp, sorted as they came.
func addrs(resp *mdns.Msg) []string {
	var out []string
	for _, rr := range resp.Answer {
		switch rr := rr.(type) {
		case *mdns.A:
			out = append(out, rr.A.String())
		case *mdns.AAAA:
			out = append(out, rr.AAAA.String())
		}
	}
	return out
}

// fakeUpstream is a resolver on loopback: example.test has 192.0.2.1,
// big.test has 60 addresses (truncated over UDP), anything else NXDOMAIN.
func fakeUpstream(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.3:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.3:%d", port))
	if err != nil {
		pc.Close()
		t.Fatal(err)
	}
	h := mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		switch strings.ToLower(q.Name) {
		case "example.test.":
			m.Answer = append(m.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypeA, Class: 1, Ttl: 60}, A: net.IPv4(192, 0, 2, 1)})
		case "big.test.":
			for i := range 60 {
				m.Answer = append(m.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypeA, Class: 1, Ttl: 60}, A: net.IPv4(192, 0, 2, byte(i))})
			}
			if w.LocalAddr().Network() == "udp" {
				m.Answer = m.Answer[:1]
				m.Truncated = true
			}
		default:
			m.Rcode = mdns.RcodeNameError
		}
		_ = w.WriteMsg(m)
	})
	servers := []*mdns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}}
	for _, s := range servers {
		go func() { _ = s.ActivateAndServe() }()
	}
	t.Cleanup(func() {
		for _, s := range servers {
			_ = s.Shutdown()
		}
		pc.Close()
		ln.Close()
	})
	return fmt.Sprintf("127.0.0.3:%d", port)
}
