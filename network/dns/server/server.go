package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	mdns "github.com/miekg/dns"
	"golang.org/x/net/netutil"
	"golang.org/x/sys/unix"

	"berth/network/dns"
)

// ErrRunning is returned by Serve when another server holds the network's
// dns.pid; `berth dns-serve` exits 0 on it.
var ErrRunning = dns.ErrRunning

// maxTCPConns bounds the TCP connections open at once: each holds a file
// and a goroutine, and a container could open many.
const maxTCPConns = 256

// Options configure Serve.
type Options struct {
	// Root is berth's root directory; Network the network's 64-hex ID.
	Root, Network string
	// Listen overrides the records' listen address (tests: 127.0.0.x:0).
	Listen string
	// ResolvConf is the host's resolv.conf, reread when it changes;
	// default /etc/resolv.conf.
	ResolvConf string
	// Upstreams, when set, replace the resolv.conf's nameservers.
	Upstreams []string
	// Poll is how often the records and resolv.conf are checked for
	// changes; default 500 ms. (A name missing from the records also makes
	// the server look at once.)
	Poll time.Duration
	// Linger is how long the server stays once no container is left, so
	// that containers started one after another (run --rm) find it
	// running; 0 exits at once. A removed network's server ends at once.
	Linger time.Duration
	// Timeout is the wait for one upstream over one transport; default 2 s.
	Timeout time.Duration
	// TTL of local answers in seconds; default 5.
	TTL uint32
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Ready, if set, is called with the bound address once the server
	// listens (the same port on UDP and TCP).
	Ready func(addr netip.AddrPort)
}

// Serve runs a network's name server until ctx is done or its records list
// no container (or are removed). It returns ErrRunning when another server
// for the network runs. The caller turns SIGTERM into ctx's end.
func Serve(ctx context.Context, o Options) error {
	dir, err := dns.Dir(o.Root, o.Network)
	if err != nil {
		return err
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	log := o.Logger.With("network", o.Network[:12])
	pidf, err := dns.LockPid(dir)
	if err != nil {
		return err
	}
	defer pidf.Close()

	st := &state{dir: dir, root: o.Root, log: log, resolvConf: o.ResolvConf}
	if st.resolvConf == "" {
		st.resolvConf = "/etc/resolv.conf"
	}
	r, err := dns.ReadRecords(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil // the network is gone already
	}
	if err != nil {
		return err
	}
	if len(r.Containers) == 0 {
		return nil
	}
	st.reload() // sets the table and its stamp
	listen := o.Listen
	if listen == "" {
		listen = r.Listen
	}
	udp, tcp, addr, err := bind(listen)
	if err != nil {
		return err
	}
	st.self = addr
	if o.Upstreams != nil {
		ups := append([]string(nil), o.Upstreams...)
		st.ups.Store(&ups)
	} else {
		st.reloadUpstreams()
	}

	h := &handler{
		current:   st.table,
		refresh:   st.refresh,
		upstreams: st.upstreams,
		linked:    st.linked,
		fwd:       newForwarder(o.Timeout),
		ttl:       o.TTL,
		log:       log,
	}
	if h.ttl == 0 {
		h.ttl = 5
	}
	servers := []*mdns.Server{
		{PacketConn: udp, Handler: h, MsgAcceptFunc: acceptQuery, UDPSize: maxUDPAnswer},
		{Listener: netutil.LimitListener(tcp, maxTCPConns), Handler: h, MsgAcceptFunc: acceptQuery, MaxTCPQueries: 128,
			ReadTimeout: 2 * time.Second, IdleTimeout: func() time.Duration { return 8 * time.Second }},
	}
	errc := make(chan error, len(servers))
	var wg sync.WaitGroup
	for _, s := range servers {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.ActivateAndServe(); err != nil {
				errc <- err
			}
		}()
		select {
		case <-started:
		case err := <-errc:
			shutdown(servers, &wg)
			return fmt.Errorf("dns server: %w", err)
		}
	}
	// The pid goes in once it listens: Update waits for it.
	if err := writePid(pidf); err != nil {
		shutdown(servers, &wg)
		return err
	}
	log.Info("dns server listening", "addr", addr.String())
	if o.Ready != nil {
		o.Ready(addr)
	}

	poll := o.Poll
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	var emptySince time.Time // since when no container is left
	for {
		select {
		case <-ctx.Done():
			shutdown(servers, &wg)
			log.Info("dns server stopped")
			return nil
		case err := <-errc:
			shutdown(servers, &wg)
			return fmt.Errorf("dns server: %w", err)
		case <-tick.C:
			if o.Upstreams == nil {
				st.reloadUpstreams()
			}
			gone, empty := st.reload()
			if !empty {
				emptySince = time.Time{}
			} else if emptySince.IsZero() {
				emptySince = time.Now()
			}
			if gone || (empty && time.Since(emptySince) >= o.Linger) {
				if st.exitIfEmpty(func() { shutdown(servers, &wg); pidf.Close() }) {
					log.Info("dns server exits: no container left on the network")
					return nil
				}
			}
		}
	}
}

// acceptQuery lets through standard queries with one question; the
// handler answers the rest of what is wrong.
func acceptQuery(dh mdns.Header) mdns.MsgAcceptAction {
	if dh.Bits&(1<<15) != 0 {
		return mdns.MsgIgnore // a response
	}
	if op := int(dh.Bits>>11) & 0xF; op != mdns.OpcodeQuery {
		return mdns.MsgRejectNotImplemented
	}
	if dh.Qdcount != 1 || dh.Ancount != 0 || dh.Nscount != 0 || dh.Arcount > 1 {
		return mdns.MsgReject
	}
	return mdns.MsgAccept
}

// shutdown stops the servers and waits for their loops.
func shutdown(servers []*mdns.Server, wg *sync.WaitGroup) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.ShutdownContext(ctx) // fails only for one not started
		if s.PacketConn != nil {
			s.PacketConn.Close()
		}
		if s.Listener != nil {
			s.Listener.Close()
		}
	}
	wg.Wait()
}

// bind opens UDP and TCP sockets on the same address and port (a port 0
// picks one free on both).
func bind(listen string) (net.PacketConn, net.Listener, netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(listen)
	if err != nil {
		return nil, nil, netip.AddrPort{}, fmt.Errorf("dns listen address %q: %w", listen, err)
	}
	for range 20 {
		udp, err := net.ListenPacket("udp", ap.String())
		if err != nil {
			return nil, nil, netip.AddrPort{}, fmt.Errorf("dns listen udp %s: %w", ap, err)
		}
		got := udp.LocalAddr().(*net.UDPAddr).AddrPort()
		got = netip.AddrPortFrom(ap.Addr(), got.Port())
		tcp, err := net.Listen("tcp", got.String())
		if err == nil {
			return udp, tcp, got, nil
		}
		udp.Close()
		if ap.Port() != 0 || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, netip.AddrPort{}, fmt.Errorf("dns listen tcp %s: %w", got, err)
		}
	}
	return nil, nil, netip.AddrPort{}, fmt.Errorf("dns listen %s: no port free on both udp and tcp", listen)
}

// writePid writes this process's pid into the locked dns.pid.
func writePid(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("write dns.pid: %w", err)
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		return fmt.Errorf("write dns.pid: %w", err)
	}
	return nil
}

// state is the server's view of its files.
type state struct {
	dir        string
	root       string // berth's root: other networks' records are under it
	resolvConf string
	self       netip.AddrPort
	log        *slog.Logger

	cur atomic.Pointer[dns.Table]
	ups atomic.Pointer[[]string]

	mu       sync.Mutex // serialises reloads; guards the stamps and others
	others   map[string]linkedTable
	stamp    stamp // of the records loaded (or found broken)
	upsStamp stamp
}

// stamp identifies a version of a file (atomic replacement changes the
// inode; an edit in place the times or size).
type stamp struct {
	ino, size    int64
	mtime, ctime int64
}

// stampOf stats path; ok false when it is missing.
func stampOf(path string) (stamp, bool, error) {
	var s unix.Stat_t
	if err := unix.Stat(path, &s); err != nil {
		if err == unix.ENOENT {
			return stamp{}, false, nil
		}
		return stamp{}, false, err
	}
	return stamp{int64(s.Ino), s.Size, s.Mtim.Nano(), s.Ctim.Nano()}, true, nil
}

// table is the records now (never nil once Serve listens).
func (s *state) table() *dns.Table {
	if t := s.cur.Load(); t != nil {
		return t
	}
	return dns.EmptyTable()
}

// refresh reloads the records if the file changed and returns them.
func (s *state) refresh() *dns.Table {
	s.reload()
	return s.table()
}

// reload loads the records file if it changed since the last look. A
// broken file is logged once and the last good records are kept. It
// reports whether the file is gone, or lists no container.
func (s *state) reload() (gone, empty bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := dns.RecordsPath(s.dir)
	st, ok, err := stampOf(path)
	if err != nil {
		s.log.Warn("stat records", "err", err)
		return false, false
	}
	if !ok {
		return true, false
	}
	if st == s.stamp {
		return false, s.table().Count == 0
	}
	s.stamp = st
	r, err := dns.ReadRecords(s.dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return true, false
		}
		s.log.Error("records file broken, keeping the last good records", "err", err)
		return false, false
	}
	t, err := dns.Compile(r)
	if err != nil { // ReadRecords checked it; kept for safety
		s.log.Error("records file broken, keeping the last good records", "err", err)
		return false, false
	}
	s.cur.Store(t)
	return false, t.Count == 0
}

// exitIfEmpty decides, under dns.lock, that the server ends: the records
// are gone or list no container. stop runs under the lock (it closes the
// sockets and releases dns.pid), so that an Update holding the lock next
// sees no server and starts one.
func (s *state) exitIfEmpty(stop func()) bool {
	lock, err := dns.Lock(s.dir)
	if errors.Is(err, os.ErrNotExist) {
		// The network's directory went whole (its root removed): no one
		// can add a container any more.
		stop()
		return true
	}
	if err != nil {
		s.log.Warn("lock records", "err", err)
		return false
	}
	defer lock.Close()
	r, err := dns.ReadRecords(s.dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return false // broken: keep serving the last good records
	case len(r.Containers) > 0:
		return false // refilled since: the next reload takes it
	}
	stop()
	return true
}

// upstreams are the resolvers to forward to now.
func (s *state) upstreams() []string {
	if p := s.ups.Load(); p != nil {
		return *p
	}
	return nil
}

// reloadUpstreams rereads the resolv.conf if it changed.
func (s *state) reloadUpstreams() {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, _, err := stampOf(s.resolvConf)
	if err != nil || (st == s.upsStamp && s.ups.Load() != nil) {
		return
	}
	s.upsStamp = st
	ups, err := Upstreams(s.resolvConf, s.self)
	if err != nil {
		s.log.Warn("host resolvers", "err", err)
		ups = nil
	}
	s.ups.Store(&ups)
}

// linkedTable is another network's records as last loaded.
type linkedTable struct {
	stamp stamp
	t     *dns.Table
}

// linked returns the records of the network id (another network of a
// client), reloaded when its file changed; nil when it has none or they
// are broken.
func (s *state) linked(id string) *dns.Table {
	dir, err := dns.Dir(s.root, id)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok, err := stampOf(dns.RecordsPath(dir))
	if err != nil || !ok {
		delete(s.others, id)
		return nil
	}
	if c, ok := s.others[id]; ok && c.stamp == st {
		return c.t
	}
	var t *dns.Table
	if r, err := dns.ReadRecords(dir); err == nil {
		t, _ = dns.Compile(r)
	}
	if s.others == nil {
		s.others = map[string]linkedTable{}
	}
	s.others[id] = linkedTable{stamp: st, t: t}
	return t
}
