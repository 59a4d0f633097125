package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

// Forwarding limits.
const (
	upstreamUDPSize = 1232 // EDNS buffer size we offer upstreams (DNS flag day 2020)
	maxForwards     = 128  // forwards at once; more are answered SERVFAIL at once
)

// forwarder sends queries for names not of the network to the upstreams.
type forwarder struct {
	timeout time.Duration // per upstream and transport
	total   time.Duration // whole forward
	sem     chan struct{}
}

// newForwarder returns a forwarder with the given per-attempt timeout.
func newForwarder(timeout time.Duration) *forwarder {
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	return &forwarder{timeout: timeout, total: 3 * timeout, sem: make(chan struct{}, maxForwards)}
}

// errBusy is a forward refused because maxForwards are in flight.
var errBusy = errors.New("too many forwarded queries in flight")

// forward asks the upstreams, in order, for q's question and returns the
// first usable answer: a truncated UDP answer is asked again over TCP; an
// answer SERVFAIL or REFUSED, a timeout or a bad answer moves on to the next
// upstream. The query sent is a new one (own ID, no client options), so
// nothing of the client's packet but its question reaches the upstream.
func (f *forwarder) forward(ctx context.Context, upstreams []string, q mdns.Question) (*mdns.Msg, error) {
	select {
	case f.sem <- struct{}{}:
		defer func() { <-f.sem }()
	default:
		return nil, errBusy
	}
	if len(upstreams) == 0 {
		return nil, errors.New("no upstream resolvers")
	}
	ctx, cancel := context.WithTimeout(ctx, f.total)
	defer cancel()
	m := new(mdns.Msg)
	m.Id = mdns.Id()
	m.RecursionDesired = true
	m.Question = []mdns.Question{q}
	m.SetEdns0(upstreamUDPSize, false)
	var errs []error
	for _, up := range upstreams {
		resp, err := f.exchange(ctx, m, up)
		if err == nil {
			return resp, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", up, err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// exchange asks one upstream, over UDP and, if the answer is truncated,
// again over TCP.
func (f *forwarder) exchange(ctx context.Context, m *mdns.Msg, up string) (*mdns.Msg, error) {
	c := &mdns.Client{Net: "udp", Timeout: f.timeout, UDPSize: upstreamUDPSize}
	resp, _, err := c.ExchangeContext(ctx, m, up)
	if err == nil && resp.Truncated {
		c = &mdns.Client{Net: "tcp", Timeout: f.timeout}
		resp, _, err = c.ExchangeContext(ctx, m, up)
	}
	if err != nil {
		return nil, err
	}
	if err := checkAnswer(m, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// checkAnswer rejects an answer that is not for the question asked or says
// the upstream failed.
func checkAnswer(m, resp *mdns.Msg) error {
	if !resp.Response || resp.Id != m.Id || len(resp.Question) != 1 {
		return errors.New("answer does not match the query")
	}
	got, want := resp.Question[0], m.Question[0]
	if got.Qtype != want.Qtype || got.Qclass != want.Qclass || !strings.EqualFold(got.Name, want.Name) {
		return errors.New("answer is for another question")
	}
	switch resp.Rcode {
	case mdns.RcodeServerFailure, mdns.RcodeRefused, mdns.RcodeNotImplemented, mdns.RcodeFormatError:
		return fmt.Errorf("upstream answered %s", mdns.RcodeToString[resp.Rcode])
	}
	return nil
}
