package server

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"berth/network/dns"
)

func TestLocalNames(t *testing.T) {
	root := newRoot(t)
	update(t, root, baseRecords)
	s := startServer(t, root, []string{}, time.Second)
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"web.", []string{"10.89.0.2"}},
		{"WeB.", []string{"10.89.0.2"}},
		{"frontend.", []string{"10.89.0.2"}},
		{"aaaaaaaaaaaa.", []string{"10.89.0.2"}},
		{"web.mynet.", []string{"10.89.0.2"}},
		{"STORE.MyNet.", []string{"10.89.0.3"}},
		{"db.", []string{"10.89.0.3"}},
	} {
		for _, network := range []string{"udp", "tcp"} {
			resp := query(t, network, s.addr, tc.name, mdns.TypeA)
			if resp.Rcode != mdns.RcodeSuccess || !resp.Authoritative || !slices.Equal(addrs(resp), tc.want) {
				t.Errorf("%s %s: rcode %d aa %v answers %v, want %v", network, tc.name, resp.Rcode, resp.Authoritative, addrs(resp), tc.want)
			}
			if len(resp.Answer) > 0 && (resp.Answer[0].Header().Name != tc.name || resp.Answer[0].Header().Ttl != 5) {
				t.Errorf("%s: answer %v", tc.name, resp.Answer[0])
			}
		}
	}
	// AAAA: a known name without IPv6 has no data, not NXDOMAIN.
	if resp := query(t, "udp", s.addr, "web.", mdns.TypeAAAA); resp.Rcode != mdns.RcodeSuccess || len(resp.Answer) != 0 {
		t.Errorf("AAAA web: %v", resp)
	}
	if resp := query(t, "udp", s.addr, "db.", mdns.TypeAAAA); !slices.Equal(addrs(resp), []string{"fd00:89::3"}) {
		t.Errorf("AAAA db: %v", resp)
	}
	if resp := query(t, "udp", s.addr, "db.", mdns.TypeMX); resp.Rcode != mdns.RcodeSuccess || len(resp.Answer) != 0 {
		t.Errorf("MX db: %v", resp)
	}
	// Names of the network's domain are never forwarded.
	if resp := query(t, "udp", s.addr, "nosuch.mynet.", mdns.TypeA); resp.Rcode != mdns.RcodeNameError {
		t.Errorf("nosuch.mynet: %v", resp)
	}
	// Reverse lookups of the network's addresses.
	for addr, want := range map[string]string{"10.89.0.2": "web.mynet.", "10.89.0.3": "db.mynet.", "fd00:89::3": "db.mynet."} {
		arpa, _ := mdns.ReverseAddr(addr)
		resp := query(t, "udp", s.addr, arpa, mdns.TypePTR)
		if len(resp.Answer) != 1 || resp.Answer[0].(*mdns.PTR).Ptr != want {
			t.Errorf("PTR %s: %v", addr, resp)
		}
	}
	arpa, _ := mdns.ReverseAddr("10.89.0.77")
	if resp := query(t, "udp", s.addr, arpa, mdns.TypePTR); resp.Rcode != mdns.RcodeNameError {
		t.Errorf("PTR of a free address of the subnet: %v", resp)
	}
	// ANY of a local name: its addresses; of another name: refused, not forwarded.
	if resp := query(t, "udp", s.addr, "db.", mdns.TypeANY); len(resp.Answer) != 2 {
		t.Errorf("ANY db: %v", resp)
	}
	if resp := query(t, "udp", s.addr, "example.test.", mdns.TypeANY); resp.Rcode != mdns.RcodeRefused {
		t.Errorf("ANY example.test: %v", resp)
	}
	if resp := query(t, "udp", s.addr, "web.", mdns.TypeAXFR); resp.Rcode != mdns.RcodeRefused {
		t.Errorf("AXFR: %v", resp)
	}
}

func TestForward(t *testing.T) {
	root := newRoot(t)
	update(t, root, baseRecords)
	up := fakeUpstream(t)
	// A dead upstream first: the server moves on to the next.
	dead := deadAddr(t)
	s := startServer(t, root, []string{dead, up}, 300*time.Millisecond)
	resp := query(t, "udp", s.addr, "Example.Test.", mdns.TypeA)
	if resp.Rcode != mdns.RcodeSuccess || !slices.Equal(addrs(resp), []string{"192.0.2.1"}) || resp.Authoritative {
		t.Fatalf("forwarded answer: %v", resp)
	}
	if resp.Question[0].Name != "Example.Test." {
		t.Errorf("question spelling not kept: %v", resp.Question)
	}
	if resp := query(t, "udp", s.addr, "nxdomain.test.", mdns.TypeA); resp.Rcode != mdns.RcodeNameError {
		t.Errorf("NXDOMAIN relayed as %v", resp)
	}
	// Upstream truncates over UDP: the server asks again over TCP; the
	// client gets what fits 512 bytes over UDP (TC) and all over TCP.
	resp = query(t, "udp", s.addr, "big.test.", mdns.TypeA)
	if !resp.Truncated || wireLen(resp) > 512 {
		t.Errorf("big over udp: tc %v len %d", resp.Truncated, wireLen(resp))
	}
	resp = query(t, "tcp", s.addr, "big.test.", mdns.TypeA)
	if resp.Truncated || len(resp.Answer) != 60 {
		t.Errorf("big over tcp: tc %v %d answers", resp.Truncated, len(resp.Answer))
	}
	// With EDNS the client gets up to what it offered, at most 1232.
	m := new(mdns.Msg)
	m.SetQuestion("big.test.", mdns.TypeA)
	m.SetEdns0(4096, false)
	resp, _, err := (&mdns.Client{Net: "udp", UDPSize: 4096}).Exchange(m, s.addr)
	if err != nil || wireLen(resp) > 1232 || len(resp.Answer) < 40 || resp.IsEdns0() == nil {
		t.Errorf("big with edns: err %v len %d answers %d", err, wireLen(resp), len(resp.Answer))
	}
}

func TestUpstreamDown(t *testing.T) {
	root := newRoot(t)
	update(t, root, baseRecords)
	s := startServer(t, root, []string{deadAddr(t), deadAddr(t)}, 200*time.Millisecond)
	start := time.Now()
	resp := query(t, "udp", s.addr, "example.test.", mdns.TypeA)
	if resp.Rcode != mdns.RcodeServerFailure {
		t.Errorf("all upstreams down: %v", resp)
	}
	t.Logf("SERVFAIL after %v", time.Since(start))
	// No upstreams at all.
	s2 := startServerAt(t, root, nil)
	if resp := query(t, "udp", s2.addr, "example.test.", mdns.TypeA); resp.Rcode != mdns.RcodeServerFailure {
		t.Errorf("no upstreams: %v", resp)
	}
}

// startServerAt is a second server of the same network: it finds dns.pid
// held, so it gets its own directory copy.
func startServerAt(t *testing.T, root string, upstreams []string) *testServer {
	t.Helper()
	root2 := newRoot(t)
	data, err := os.ReadFile(dns.RecordsPath(filepath.Join(root, "networks", testNet)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dns.RecordsPath(filepath.Join(root2, "networks", testNet)), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return startServer(t, root2, append([]string{}, upstreams...), 200*time.Millisecond)
}

// deadAddr is a loopback UDP address nobody listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.4:0")
	if err != nil {
		t.Fatal(err)
	}
	a := pc.LocalAddr().String()
	pc.Close()
	return a
}

func TestReload(t *testing.T) {
	root := newRoot(t)
	update(t, root, baseRecords)
	s := startServer(t, root, []string{}, 200*time.Millisecond)
	// A container added resolves at once (a miss looks at the file).
	update(t, root, func(r *dns.Records) error {
		r.Containers = append(r.Containers, dns.Container{ID: "cccccccccccc" + idWeb[12:], Names: []string{"cache"}, IPv4: []string{"10.89.0.4"}})
		return nil
	})
	if resp := query(t, "udp", s.addr, "cache.", mdns.TypeA); !slices.Equal(addrs(resp), []string{"10.89.0.4"}) {
		t.Errorf("added container: %v", resp)
	}
	// One removed is gone within the poll interval.
	update(t, root, func(r *dns.Records) error {
		r.Containers = slices.DeleteFunc(r.Containers, func(c dns.Container) bool { return c.Names[0] == "web" })
		return nil
	})
	waitFor(t, func() bool { return query(t, "udp", s.addr, "web.mynet.", mdns.TypeA).Rcode == mdns.RcodeNameError })
	// A broken file keeps the last good records.
	path := dns.RecordsPath(filepath.Join(root, "networks", testNet))
	for _, bad := range []string{"{", `{"version":1,"containers":[{"id":"x"}]}`, `{"version":1,"containers":[],"junk":1}`, ""} {
		if err := os.WriteFile(path+".tmp", []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
		time.Sleep(60 * time.Millisecond)
		if resp := query(t, "udp", s.addr, "cache.", mdns.TypeA); !slices.Equal(addrs(resp), []string{"10.89.0.4"}) {
			t.Errorf("after broken file %q: %v", bad, resp)
		}
	}
	select {
	case err := <-s.done:
		t.Fatalf("server ended on a broken file: %v", err)
	default:
	}
}

// wireLen is resp's size as sent (compressed).
func wireLen(resp *mdns.Msg) int {
	c := resp.Copy()
	c.Compress = true
	return c.Len()
}

// waitFor polls cond for up to 3 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met in 3s")
}

func TestExitWhenEmpty(t *testing.T) {
	root := newRoot(t)
	update(t, root, baseRecords)
	s := startServer(t, root, []string{}, 200*time.Millisecond)
	update(t, root, func(r *dns.Records) error { r.Containers = nil; return nil })
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatal(err)
		}
		s.done <- nil // for the cleanup
	case <-time.After(3 * time.Second):
		t.Fatal("server still runs with no container left")
	}
	if pid, err := dns.Running(filepath.Join(root, "networks", testNet)); pid != 0 || err != nil {
		t.Errorf("dns.Running after exit: %d %v", pid, err)
	}
}

// TestExitWhenDirRemoved: the network's directory removed whole (a test's
// root deleted right after its last container) ends the server; it once
// kept running, unable to take the lock in the missing directory.
func TestExitWhenDirRemoved(t *testing.T) {
	root := newRoot(t)
	update(t, root, baseRecords)
	s := startServer(t, root, []string{}, 200*time.Millisecond)
	if err := os.RemoveAll(filepath.Join(root, "networks", testNet)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatal(err)
		}
		s.done <- nil // for the cleanup
	case <-time.After(3 * time.Second):
		t.Fatal("server still runs with its network's directory gone")
	}
}

// TestLinger: with Linger the server outlives its last container for that
// long, serves a container added meanwhile, and ends once empty for the
// whole time.
func TestLinger(t *testing.T) {
	root := newRoot(t)
	update(t, root, baseRecords)
	s := startServerWith(t, root, []string{}, 200*time.Millisecond, 600*time.Millisecond)
	empty := func() { update(t, root, func(r *dns.Records) error { r.Containers = nil; return nil }) }
	empty()
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-s.done:
		t.Fatalf("ended within its linger: %v", err)
	default:
	}
	// Refilled within the linger: it serves the new name and stays.
	update(t, root, baseRecords)
	if got := strings.Join(addrs(query(t, "udp", s.addr, "web.", mdns.TypeA)), ","); got != "10.89.0.2" {
		t.Errorf("web after the refill: %q", got)
	}
	time.Sleep(700 * time.Millisecond)
	select {
	case err := <-s.done:
		t.Fatalf("ended with containers: %v", err)
	default:
	}
	start := time.Now()
	empty()
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatal(err)
		}
		s.done <- nil // for the cleanup
		if d := time.Since(start); d < 500*time.Millisecond {
			t.Errorf("ended %v after the last container, before its linger", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server still runs long after its linger")
	}
}

func TestRoundRobinAndTruncation(t *testing.T) {
	root := newRoot(t)
	update(t, root, func(r *dns.Records) error {
		r.Listen = "127.0.0.1:53"
		for i := range 100 {
			id := []byte(idWeb)
			id[0], id[1] = "0123456789"[i/10], "0123456789"[i%10]
			r.Containers = append(r.Containers, dns.Container{ID: string(id), Names: []string{"w" + string(id[:2]), "pool"},
				IPv4: []string{net.IPv4(10, 1, 0, byte(i+1)).String()}})
		}
		return nil
	})
	s := startServer(t, root, []string{}, 200*time.Millisecond)
	resp := query(t, "udp", s.addr, "pool.", mdns.TypeA)
	if !resp.Truncated || wireLen(resp) > 512 {
		t.Errorf("udp: tc %v len %d", resp.Truncated, wireLen(resp))
	}
	resp = query(t, "tcp", s.addr, "pool.", mdns.TypeA)
	if resp.Truncated || len(resp.Answer) != 100 {
		t.Errorf("tcp: tc %v answers %d", resp.Truncated, len(resp.Answer))
	}
}

func TestConcurrentQueries(t *testing.T) {
	root := newRoot(t)
	update(t, root, baseRecords)
	up := fakeUpstream(t)
	s := startServer(t, root, []string{up}, time.Second)
	var wg sync.WaitGroup
	errs := make(chan string, 1000)
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &mdns.Client{Net: []string{"udp", "tcp"}[g%2], Timeout: 5 * time.Second}
			for i := range 25 {
				name, want := "web.", "10.89.0.2"
				if i%3 == 0 {
					name, want = "example.test.", "192.0.2.1"
				}
				m := new(mdns.Msg)
				m.SetQuestion(name, mdns.TypeA)
				resp, _, err := c.Exchange(m, s.addr)
				if err != nil || !slices.Equal(addrs(resp), []string{want}) {
					errs <- name + ": " + func() string {
						if err != nil {
							return err.Error()
						}
						return resp.String()
					}()
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
