package ship

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"berth/internal/config"
)

// userAgent is what berth tells registries it is.
const userAgent = "berth/0.1"

// dockerHub is the registry host Docker Hub names resolve to.
const dockerHub = "index.docker.io"

// Options configure a Client.
type Options struct {
	// Keychain finds credentials for a registry; nil means anonymous.
	Keychain authn.Keychain
	// Insecure lists registries (host[:port], or CIDRs of addresses)
	// reachable over plain HTTP or with an unverified certificate.
	// Loopback names and addresses always are, as with Docker.
	Insecure []string
	// Mirrors are URLs tried, in order, before Docker Hub for its images.
	Mirrors []string
	// CertsDir holds <host[:port]>/ca.crt, client.cert and client.key
	// for registries with their own certificates ("" for none).
	CertsDir string
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// FromConfig fills Options from berth's configuration file.
func FromConfig(c *config.Config) Options {
	return Options{Insecure: c.InsecureRegistries, Mirrors: c.RegistryMirrors, CertsDir: c.CertsDir}
}

// Client talks to registries. It caches, per registry host, how to reach
// it (scheme, TLS); it is safe for concurrent use.
type Client struct {
	o   Options
	log *slog.Logger

	backoff time.Duration // first delay between download attempts

	mu      sync.Mutex
	schemes map[string]string // host -> "https" or "http", once probed
}

// New returns a Client.
func New(o Options) *Client {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	if o.Keychain == nil {
		o.Keychain = anonymous{}
	}
	return &Client{o: o, log: log, backoff: fetchBackoff, schemes: map[string]string{}}
}

// anonymous is the keychain of no credentials.
type anonymous struct{}

// Resolve gives anonymous access to every registry.
func (anonymous) Resolve(authn.Resource) (authn.Authenticator, error) { return authn.Anonymous, nil }

// endpoint is one place a repository can be fetched from: its own
// registry or a mirror of it.
type endpoint struct {
	repo     name.Repository // the repository on that host
	host     string          // host[:port] in URLs
	scheme   string          // https or http
	insecure bool            // skip certificate verification
	mirror   bool
	base     http.RoundTripper // TLS set up, scheme forced; no auth yet
	tr       *http.Transport   // under base: its connections
}

// close drops the endpoint's idle connections, so that nothing of a
// finished pull or push keeps running.
func (ep *endpoint) close() { ep.tr.CloseIdleConnections() }

// closeAll closes every endpoint of eps.
func closeAll(eps []*endpoint) {
	for _, ep := range eps {
		ep.close()
	}
}

// isInsecure tells whether host may be reached without verified TLS:
// loopback always, and whatever the configuration lists.
func (c *Client) isInsecure(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	addr, addrErr := netip.ParseAddr(strings.Trim(h, "[]"))
	if addrErr == nil && addr.IsLoopback() {
		return true
	}
	for _, e := range c.o.Insecure {
		if e == host || e == h {
			return true
		}
		if p, err := netip.ParsePrefix(e); err == nil && addrErr == nil && p.Contains(addr) {
			return true
		}
	}
	return false
}

// endpoints lists where repo is fetched from, in order: the mirrors for
// Docker Hub, then the registry itself.
func (c *Client) endpoints(ctx context.Context, repo name.Repository) ([]*endpoint, error) {
	var out []*endpoint
	if repo.RegistryStr() == dockerHub {
		for _, m := range c.o.Mirrors {
			u, err := url.Parse(m)
			if err != nil || u.Host == "" {
				return nil, fmt.Errorf("registry mirror %q: not a URL", m)
			}
			ep, err := c.endpoint(ctx, u.Host, repo.RepositoryStr(), u.Scheme)
			if err != nil {
				closeAll(out)
				return nil, err
			}
			ep.mirror = true
			out = append(out, ep)
		}
	}
	ep, err := c.endpoint(ctx, repo.RegistryStr(), repo.RepositoryStr(), "")
	if err != nil {
		closeAll(out)
		return nil, err
	}
	return append(out, ep), nil
}

// endpoint sets up the transport to host for repository path; scheme ""
// means choose: https, or for an insecure registry https if it answers
// TLS and http otherwise (as Docker does).
func (c *Client) endpoint(ctx context.Context, host, path, scheme string) (*endpoint, error) {
	insecure := c.isInsecure(host)
	reg, err := name.NewRegistry(host, name.StrictValidation)
	if err != nil {
		return nil, fmt.Errorf("registry %q: %w", host, err)
	}
	repo := reg.Repo(path)
	tlsConf, err := c.tlsConfig(host, insecure)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConf,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	ep := &endpoint{repo: repo, host: host, insecure: insecure, tr: tr}
	switch {
	case scheme != "":
		ep.scheme = scheme
	case !insecure:
		ep.scheme = "https"
	default:
		ep.scheme = c.probe(ctx, host, tr)
	}
	if ep.scheme == "http" && !insecure {
		ep.close()
		return nil, fmt.Errorf("registry %s: plain HTTP is allowed only for insecure registries (add it to \"insecure-registries\" in %s)", host, config.Path())
	}
	ep.base = schemeTransport{host: host, scheme: ep.scheme, inner: tr}
	return ep, nil
}

// probe tells whether an insecure registry speaks TLS, once per host.
func (c *Client) probe(ctx context.Context, host string, tr *http.Transport) string {
	c.mu.Lock()
	s, ok := c.schemes[host]
	c.mu.Unlock()
	if ok {
		return s
	}
	s = "http"
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(pctx, http.MethodGet, "https://"+host+"/v2/", nil)
	if err == nil {
		if resp, err := tr.RoundTrip(req); err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			s = "https"
		}
	}
	c.log.Debug("registry scheme", "host", host, "scheme", s)
	c.mu.Lock()
	c.schemes[host] = s
	c.mu.Unlock()
	return s
}

// tlsConfig is the TLS setup for host: the system roots plus
// <CertsDir>/<host>/*.crt, a client certificate if there is one, no
// verification for an insecure registry.
func (c *Client) tlsConfig(host string, insecure bool) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure} //nolint:gosec // insecure registries only, as Docker
	if c.o.CertsDir == "" {
		return conf, nil
	}
	dir := filepath.Join(c.o.CertsDir, strings.ReplaceAll(host, "/", "_"))
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return conf, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registry %s: certificates: %w", host, err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch {
		case strings.HasSuffix(e.Name(), ".crt"):
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("registry %s: %w", host, err)
			}
			if !pool.AppendCertsFromPEM(b) {
				return nil, fmt.Errorf("registry %s: %s: no PEM certificate", host, p)
			}
		case strings.HasSuffix(e.Name(), ".cert"):
			key := strings.TrimSuffix(p, ".cert") + ".key"
			cert, err := tls.LoadX509KeyPair(p, key)
			if err != nil {
				return nil, fmt.Errorf("registry %s: client certificate %s: %w", host, p, err)
			}
			conf.Certificates = append(conf.Certificates, cert)
		}
	}
	conf.RootCAs = pool
	return conf, nil
}

// schemeTransport sends every request for host with scheme: name.Registry
// picks http for any loopback or private address, while berth decides
// per registry (https first, as Docker).
type schemeTransport struct {
	host, scheme string
	inner        http.RoundTripper
}

// RoundTrip sends r, with the scheme forced when it is for host.
func (t schemeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == t.host && r.URL.Scheme != t.scheme {
		r = r.Clone(r.Context())
		r.URL.Scheme = t.scheme
	}
	return t.inner.RoundTrip(r)
}

// RegistryTransport is how host (host[:port]; index.docker.io for Docker
// Hub) is reached: the scheme (https, or http for an insecure registry
// that does not speak TLS) and a transport with its TLS set up that
// forces that scheme, without authentication (berth login adds it).
func (c *Client) RegistryTransport(ctx context.Context, host string) (string, http.RoundTripper, error) {
	ep, err := c.endpoint(ctx, host, "library/x", "")
	if err != nil {
		return "", nil, err
	}
	return ep.scheme, ep.base, nil
}
