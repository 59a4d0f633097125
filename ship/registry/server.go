package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"

	// The auth and storage implementations register themselves with
	// distribution's factories.
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
)

// drainTimeout bounds how long a stopping server waits for requests in
// flight.
const drainTimeout = 10 * time.Second

// idleTimeout closes kept-alive connections left idle: without it they
// stay open for as long as the client likes.
const idleTimeout = 2 * time.Minute

// cutWait bounds how long a stopping server waits for the handlers of
// requests it cut off at drainTimeout.
const cutWait = 10 * time.Second

// Server is a registry listening on its address, holding its root's lock.
type Server struct {
	opts     Options
	log      *slog.Logger
	lock     *os.File
	listener net.Listener
	addr     string
	app      *handlers.App
	handler  http.Handler
	drain    time.Duration // how long Serve waits for requests in flight
	idle     time.Duration // how long a kept-alive connection may idle
}

// New opens the registry in opts.Root and listens on opts.Addr; Serve then
// answers requests. It fails if another server or a garbage collection
// holds the root.
func New(ctx context.Context, opts Options) (*Server, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Server{opts: opts, log: log, drain: drainTimeout, idle: idleTimeout}
	lock, err := lockRoot(opts.Root)
	if err != nil {
		return nil, err
	}
	s.lock = lock
	if err := s.setup(ctx); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *Server) setup(ctx context.Context) error {
	cfg, err := s.opts.distributionConfig()
	if err != nil {
		return err
	}
	// The App lives until Close, not until the caller's context ends: a
	// signal must drain requests in flight, not cancel them.
	app, err := newApp(context.WithoutCancel(ctx), cfg)
	if err != nil {
		return err
	}
	s.app = app
	ext, err := newExtensions(ctx, s.opts)
	if err != nil {
		return err
	}
	s.handler = ext.wrap(app)
	var tlsConf *tls.Config
	if s.opts.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(s.opts.TLSCert, s.opts.TLSKey)
		if err != nil {
			return fmt.Errorf("registry: TLS key pair: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	s.listener, s.addr = ln, ln.Addr().String()
	return nil
}

// newApp builds distribution's App, which panics on configuration it
// cannot use: the panic becomes an error.
func newApp(ctx context.Context, cfg *configuration.Configuration) (app *handlers.App, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("registry: configuration: %v", r)
		}
	}()
	return handlers.NewApp(ctx, cfg), nil
}

// Addr is the address the server listens on (with the port chosen when
// Options.Addr asked for port 0).
func (s *Server) Addr() string { return s.addr }

// Handler is the server's HTTP handler (distribution's App behind berth's
// extensions), for tests that serve it themselves.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve answers requests until ctx ends, then stops gracefully: no new
// connections, requests in flight given drainTimeout (then cut off and
// their handlers awaited), the lock released.
func (s *Server) Serve(ctx context.Context) error {
	defer s.close()
	gate := &drainGate{}
	srv := &http.Server{
		Handler:           gate.wrap(s.handler),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       s.idle,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	done := make(chan error, 1)
	ln := s.listener
	go func() { done <- srv.Serve(ln) }()
	s.log.Info("registry listening", "addr", s.Addr(), "root", s.opts.Root, "tls", s.opts.TLSCert != "", "auth", s.opts.Htpasswd != "")
	select {
	case err := <-done:
		return fmt.Errorf("registry: serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("registry stopping")
	sctx, cancel := context.WithTimeout(context.Background(), s.drain)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		// Past the drain time: cut the connections still open, then wait
		// for their handlers (which fail fast once cut) so that nothing
		// writes to the root after its lock is released.
		srv.Close()
		err = fmt.Errorf("requests cut off after %s: %w", s.drain, err)
	}
	if !gate.close(cutWait) {
		s.log.Warn("registry: requests still running after stop", "waited", s.drain+cutWait)
	}
	if serr := <-done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("registry: shutdown: %w", err)
	}
	return nil
}

// Close releases what New took, for a server whose Serve never ran.
func (s *Server) Close() { s.close() }

// close releases what New took, once; Serve calls it, and New on
// failure.
func (s *Server) close() {
	if s.app != nil {
		if err := s.app.Shutdown(); err != nil {
			s.log.Debug("registry app shutdown", "err", err)
		}
		s.app = nil
	}
	if s.listener != nil {
		s.listener.Close()
		s.listener = nil
	}
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
}
