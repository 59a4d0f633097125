package server

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"

	mdns "github.com/miekg/dns"

	"berth/network/dns"
)

// Answer sizes.
const (
	maxUDPAnswer = 1232  // the most we send over UDP, whatever the client offers
	maxTCPAnswer = 65535 // a TCP message's length field
)

// handler answers queries from the network's containers.
type handler struct {
	current   func() *dns.Table // the records now
	refresh   func() *dns.Table // the records after a check that the file did not change
	upstreams func() []string   // the host's resolvers now
	// linked returns another network's records (nil if it has none), for
	// a client that is on that network too.
	linked func(id string) *dns.Table
	fwd    *forwarder
	ttl    uint32
	log    *slog.Logger
}

// ServeDNS implements mdns.Handler.
func (h *handler) ServeDNS(w mdns.ResponseWriter, r *mdns.Msg) {
	tcp := w.LocalAddr() != nil && w.LocalAddr().Network() == "tcp"
	if !h.allowed(w.RemoteAddr()) {
		// Another network's container reaching this gateway through the
		// host: it must not learn this network's names, nor use the
		// forwarder. Dropped, as a closed port would be.
		return
	}
	resp := h.answerFrom(context.Background(), r, tcp, addrOf(w.RemoteAddr()))
	if resp == nil {
		return
	}
	if err := w.WriteMsg(resp); err != nil {
		h.log.Debug("write answer", "err", err)
	}
}

// addrOf is a client's address (the zero Addr if it is neither UDP nor
// TCP).
func addrOf(addr net.Addr) netip.Addr {
	switch a := addr.(type) {
	case *net.UDPAddr:
		return a.AddrPort().Addr().Unmap()
	case *net.TCPAddr:
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// allowed reports whether a query from addr is served: from the network's
// own subnets or from the host's loopback (the host itself, tests).
func (h *handler) allowed(addr net.Addr) bool {
	ip := addrOf(addr)
	if !ip.IsValid() {
		return false
	}
	t := h.current()
	if ip.IsLoopback() || len(t.Subnets) == 0 {
		return true
	}
	for _, p := range t.Subnets {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// answer computes the response to r (nil: send none). Over UDP the answer
// is never larger than the client allowed.
func (h *handler) answer(ctx context.Context, r *mdns.Msg, tcp bool) *mdns.Msg {
	return h.answerFrom(ctx, r, tcp, netip.Addr{})
}

// answerFrom is answer for a query from the address from, which may be a
// container on other networks too: their names are answered as well.
func (h *handler) answerFrom(ctx context.Context, r *mdns.Msg, tcp bool, from netip.Addr) *mdns.Msg {
	if r == nil || r.Response {
		return nil // never answer an answer: no loops between servers
	}
	resp := new(mdns.Msg)
	resp.SetReply(r)
	resp.RecursionAvailable = true
	if r.Opcode != mdns.OpcodeQuery {
		return finish(resp, r, tcp, mdns.RcodeNotImplemented)
	}
	if len(r.Question) != 1 {
		resp.Question = nil
		return finish(resp, r, tcp, mdns.RcodeFormatError)
	}
	if opt := r.IsEdns0(); opt != nil && opt.Version() != 0 {
		return finish(resp, r, tcp, mdns.RcodeBadVers)
	}
	q := r.Question[0]
	if q.Qclass != mdns.ClassINET {
		return finish(resp, r, tcp, mdns.RcodeRefused)
	}
	switch q.Qtype {
	case mdns.TypeAXFR, mdns.TypeIXFR, mdns.TypeNone:
		return finish(resp, r, tcp, mdns.RcodeRefused)
	}
	name := mdns.CanonicalName(q.Name)
	t := h.current()
	rcode, local := h.local(t, resp, q, name)
	if !local {
		// A name just added may not be loaded yet: look at the file first.
		if t2 := h.refresh(); t2 != t {
			rcode, local = h.local(t2, resp, q, name)
		}
	}
	if !local && h.linked != nil && from.IsValid() {
		for _, id := range h.current().Linked[from] {
			if lt := h.linked(id); lt != nil {
				if rcode, local = h.local(lt, resp, q, name); local {
					break
				}
			}
		}
	}
	if local {
		resp.Authoritative = true
		return finish(resp, r, tcp, rcode)
	}
	if q.Qtype == mdns.TypeANY {
		// ANY is the amplifier's favourite and no client needs it: not
		// forwarded (RFC 8482 lets a server decline it).
		return finish(resp, r, tcp, mdns.RcodeRefused)
	}
	up, err := h.fwd.forward(ctx, h.upstreams(), q)
	if err != nil {
		h.log.Debug("forward failed", "name", q.Name, "type", mdns.TypeToString[q.Qtype], "err", err)
		return finish(resp, r, tcp, mdns.RcodeServerFailure)
	}
	resp.Answer = up.Answer
	resp.Ns = up.Ns
	resp.Extra = nil
	for _, rr := range up.Extra {
		if rr.Header().Rrtype != mdns.TypeOPT {
			resp.Extra = append(resp.Extra, rr)
		}
	}
	resp.AuthenticatedData = up.AuthenticatedData
	return finish(resp, r, tcp, up.Rcode)
}

// local answers q from the records into resp; false when q is not the
// network's to answer.
func (h *handler) local(t *dns.Table, resp *mdns.Msg, q mdns.Question, name string) (int, bool) {
	if q.Qtype == mdns.TypePTR {
		if a, ok := reverseAddr(name); ok {
			if target, ok := t.PTR[a]; ok {
				resp.Answer = []mdns.RR{&mdns.PTR{Hdr: h.hdr(q.Name, mdns.TypePTR), Ptr: target}}
				return mdns.RcodeSuccess, true
			}
			for _, p := range t.Subnets {
				if p.Contains(a) {
					return mdns.RcodeNameError, true
				}
			}
			return 0, false
		}
	}
	e, ok := t.Names[name]
	if !ok {
		if t.Domain != "" && name == t.Domain {
			return mdns.RcodeSuccess, true // the domain itself: no data
		}
		if t.Domain != "" && strings.HasSuffix(name, "."+t.Domain) {
			return mdns.RcodeNameError, true // ours, and not there: never forwarded
		}
		return 0, false
	}
	var ans []mdns.RR
	if q.Qtype == mdns.TypeA || q.Qtype == mdns.TypeANY {
		for _, a := range e.V4 {
			ans = append(ans, &mdns.A{Hdr: h.hdr(q.Name, mdns.TypeA), A: a.AsSlice()})
		}
	}
	if q.Qtype == mdns.TypeAAAA || q.Qtype == mdns.TypeANY {
		for _, a := range e.V6 {
			ans = append(ans, &mdns.AAAA{Hdr: h.hdr(q.Name, mdns.TypeAAAA), AAAA: a.AsSlice()})
		}
	}
	// Round robin between the containers sharing an alias, as Docker.
	rand.Shuffle(len(ans), func(i, j int) { ans[i], ans[j] = ans[j], ans[i] })
	resp.Answer = ans
	return mdns.RcodeSuccess, true // other types of a known name: no data
}

// hdr is the header of a local answer record; name is the client's
// spelling of it (clients may check it, 0x20).
func (h *handler) hdr(name string, typ uint16) mdns.RR_Header {
	return mdns.RR_Header{Name: name, Rrtype: typ, Class: mdns.ClassINET, Ttl: h.ttl}
}

// finish sets the rcode and the EDNS record, and truncates to what the
// transport and the client allow.
func finish(resp, r *mdns.Msg, tcp bool, rcode int) *mdns.Msg {
	resp.Rcode = rcode
	limit := mdns.MinMsgSize
	if opt := r.IsEdns0(); opt != nil {
		resp.SetEdns0(maxUDPAnswer, false)
		if s := int(opt.UDPSize()); s > limit {
			limit = min(s, maxUDPAnswer)
		}
	} else if rcode > 0xF {
		resp.Rcode = mdns.RcodeServerFailure // an extended rcode needs EDNS
	}
	if tcp {
		limit = maxTCPAnswer
	}
	resp.Truncate(limit)
	return resp
}

// reverseAddr parses a reverse lookup name (in-addr.arpa, ip6.arpa; lower
// case, fully qualified).
func reverseAddr(name string) (netip.Addr, bool) {
	if s, ok := strings.CutSuffix(name, ".in-addr.arpa."); ok {
		labels := strings.Split(s, ".")
		if len(labels) != 4 {
			return netip.Addr{}, false
		}
		var b [4]byte
		for i, l := range labels {
			n, err := strconv.ParseUint(l, 10, 8)
			if err != nil || (len(l) > 1 && l[0] == '0') {
				return netip.Addr{}, false
			}
			b[3-i] = byte(n)
		}
		return netip.AddrFrom4(b), true
	}
	if s, ok := strings.CutSuffix(name, ".ip6.arpa."); ok {
		labels := strings.Split(s, ".")
		if len(labels) != 32 {
			return netip.Addr{}, false
		}
		var b [16]byte
		for i, l := range labels {
			n, err := strconv.ParseUint(l, 16, 8)
			if err != nil || len(l) != 1 {
				return netip.Addr{}, false
			}
			k := 31 - i
			b[k/2] |= byte(n) << (4 * (1 - k%2))
		}
		return netip.AddrFrom16(b), true
	}
	return netip.Addr{}, false
}
