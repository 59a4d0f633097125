package server

import (
	"bytes"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"berth/network/dns"
)

// hostilePackets are queries a container might send to break the server.
func hostilePackets() map[string][]byte {
	hdr := func(id, flags, qd, an, ns, ar uint16) []byte {
		b := make([]byte, 12)
		for i, v := range []uint16{id, flags, qd, an, ns, ar} {
			binary.BigEndian.PutUint16(b[2*i:], v)
		}
		return b
	}
	q := func(name []byte, typ uint16) []byte {
		return append(name, byte(typ>>8), byte(typ), 0, 1)
	}
	long := bytes.Repeat([]byte{63}, 1)
	long = append(long, bytes.Repeat([]byte{'a'}, 63)...)
	huge := bytes.Repeat(long, 5) // 320 bytes, more than 255
	huge = append(huge, 0)
	many := hdr(1, 0x0100, 50, 0, 0, 0)
	for range 50 {
		many = append(many, q([]byte("\x03web\x00"), mdns.TypeA)...)
	}
	return map[string][]byte{
		"empty":            {},
		"short header":     {1, 2, 3},
		"header only":      hdr(2, 0x0100, 1, 0, 0, 0),
		"compression loop": append(hdr(3, 0x0100, 1, 0, 0, 0), 0xc0, 12, 0, 1, 0, 1),
		"pointer forward":  append(hdr(4, 0x0100, 1, 0, 0, 0), 0xc0, 40, 0, 1, 0, 1),
		"huge name":        append(hdr(5, 0x0100, 1, 0, 0, 0), q(huge, mdns.TypeA)...),
		"many questions":   many,
		"no question":      hdr(6, 0x0100, 0, 0, 0, 0),
		"a response":       append(hdr(7, 0x8100, 1, 0, 0, 0), q([]byte("\x03web\x00"), mdns.TypeA)...),
		"update opcode":    append(hdr(8, 0x2800, 1, 0, 0, 0), q([]byte("\x03web\x00"), mdns.TypeA)...),
		"notify opcode":    append(hdr(9, 0x2000, 1, 0, 0, 0), q([]byte("\x03web\x00"), mdns.TypeA)...),
		"lying counts":     append(hdr(10, 0x0100, 1, 0xffff, 0xffff, 0xffff), q([]byte("\x03web\x00"), mdns.TypeA)...),
		"chaos class":      append(hdr(11, 0x0100, 1, 0, 0, 0), []byte("\x07version\x04bind\x00\x00\x10\x00\x03")...),
		"bad label type":   append(hdr(12, 0x0100, 1, 0, 0, 0), 0x80, 'x', 0, 0, 1, 0, 1),
		"garbage":          bytes.Repeat([]byte{0xff}, 600),
		"big garbage":      bytes.Repeat([]byte{0x41}, 4000),
	}
}

func TestHostileQueries(t *testing.T) {
	root := newRoot(t)
	update(t, root, baseRecords)
	s := startServer(t, root, []string{}, 200*time.Millisecond)
	conn, err := net.Dial("udp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for name, pkt := range hostilePackets() {
		if _, err := conn.Write(pkt); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		buf := make([]byte, 65536)
		n, err := conn.Read(buf)
		if err == nil {
			// Whatever comes back is no bigger than the query allowed.
			if n > 512 {
				t.Errorf("%s: answer of %d bytes", name, n)
			}
			var m mdns.Msg
			if err := m.Unpack(buf[:n]); err == nil && m.Rcode == mdns.RcodeSuccess && len(m.Answer) > 0 && name != "lying counts" {
				t.Errorf("%s: answered with data: %v", name, &m)
			}
		}
		if name == "a response" && err == nil {
			t.Errorf("a response was answered")
		}
		t.Logf("%s: %d bytes back (%v)", name, n, err)
	}
	// Over TCP too: a bad message, a length prefix with nothing behind.
	for _, pkt := range [][]byte{{0, 3, 1, 2, 3}, {0xff, 0xff}, append([]byte{0, 14}, hostilePackets()["compression loop"]...)} {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write(pkt)
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		_, _ = io.ReadAll(c)
		c.Close()
	}
	// Still serving.
	if resp := query(t, "udp", s.addr, "web.", mdns.TypeA); !slices.Equal(addrs(resp), []string{"10.89.0.2"}) {
		t.Fatalf("after hostile queries: %v", resp)
	}
	if resp := query(t, "tcp", s.addr, "web.", mdns.TypeA); !slices.Equal(addrs(resp), []string{"10.89.0.2"}) {
		t.Fatalf("after hostile queries (tcp): %v", resp)
	}
}

// testHandler is a handler over fixed records, no upstreams.
func testHandler(t testing.TB) *handler {
	var r dns.Records
	r.Version = 1
	_ = baseRecords(&r)
	tbl, err := dns.Compile(&r)
	if err != nil {
		t.Fatal(err)
	}
	return &handler{
		current:   func() *dns.Table { return tbl },
		refresh:   func() *dns.Table { return tbl },
		upstreams: func() []string { return nil },
		fwd:       newForwarder(time.Millisecond),
		ttl:       5,
		log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// checkAnswerSize answers pkt as the server would and checks that the
// answer packs and fits what the query allowed.
func checkAnswerSize(t testing.TB, h *handler, pkt []byte) {
	var r mdns.Msg
	if err := r.Unpack(pkt); err != nil {
		return // the server drops it (or answers FORMERR from the header)
	}
	for _, tcp := range []bool{false, true} {
		resp := h.answer(t.Context(), &r, tcp)
		if resp == nil {
			continue
		}
		out, err := resp.Pack()
		if err != nil {
			t.Fatalf("answer does not pack: %v\n%v", err, resp)
		}
		limit := 512
		if opt := r.IsEdns0(); opt != nil && opt.UDPSize() > 512 {
			limit = min(int(opt.UDPSize()), maxUDPAnswer)
		}
		if !tcp && len(out) > limit {
			t.Fatalf("udp answer %d bytes, limit %d", len(out), limit)
		}
		if resp.Id != r.Id {
			t.Fatalf("answer id %d for query %d", resp.Id, r.Id)
		}
	}
}

func TestHandlerHostile(t *testing.T) {
	h := testHandler(t)
	for name, pkt := range hostilePackets() {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) { checkAnswerSize(t, h, pkt) })
	}
}

func FuzzHandler(f *testing.F) {
	for _, pkt := range hostilePackets() {
		f.Add(pkt)
	}
	for _, name := range []string{"web.", "WEB.mynet.", "x.mynet.", "example.test.", "2.0.89.10.in-addr.arpa."} {
		for _, typ := range []uint16{mdns.TypeA, mdns.TypeAAAA, mdns.TypePTR, mdns.TypeANY} {
			m := new(mdns.Msg)
			m.SetQuestion(name, typ)
			if typ == mdns.TypeAAAA {
				m.SetEdns0(4096, true)
			}
			b, _ := m.Pack()
			f.Add(b)
		}
	}
	h := testHandler(f)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		checkAnswerSize(t, h, pkt)
	})
}

func TestAllowedSources(t *testing.T) {
	h := testHandler(t)
	for addr, want := range map[net.Addr]bool{
		&net.UDPAddr{IP: net.ParseIP("10.89.0.2"), Port: 5353}:     true,
		&net.TCPAddr{IP: net.ParseIP("fd00:89::3"), Port: 5353}:    true,
		&net.UDPAddr{IP: net.ParseIP("127.0.0.1"), Port: 5353}:     true,
		&net.UDPAddr{IP: net.ParseIP("::ffff:10.89.0.9"), Port: 1}: true,
		&net.UDPAddr{IP: net.ParseIP("10.90.0.2"), Port: 5353}:     false, // another network
		&net.UDPAddr{IP: net.ParseIP("192.168.1.5"), Port: 5353}:   false,
		&net.UnixAddr{Name: "x"}:                                   false,
	} {
		if got := h.allowed(addr); got != want {
			t.Errorf("%v: allowed %v, want %v", addr, got, want)
		}
	}
}
