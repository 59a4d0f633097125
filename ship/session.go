package ship

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth/image"
)

// manifestAccept is what a manifest request accepts: both formats, single
// and multi-platform.
var manifestAccept = strings.Join([]string{
	ocispec.MediaTypeImageIndex, image.MediaTypeDockerManifestList,
	ocispec.MediaTypeImageManifest, image.MediaTypeDockerManifest,
}, ", ")

// session is an authenticated connection to one endpoint.
type session struct {
	ep     *endpoint
	client *http.Client
	log    *slog.Logger
	// backoff is the first delay between download attempts.
	backoff time.Duration
}

// open authenticates to ep for scopes (transport.PullScope, PushScope).
func (c *Client) open(ctx context.Context, ep *endpoint, scopes ...string) (*session, error) {
	auth, err := authn.Resolve(ctx, c.o.Keychain, ep.repo)
	if err != nil {
		return nil, fmt.Errorf("registry %s: credentials: %w", ep.host, err)
	}
	var sc []string
	for _, s := range scopes {
		sc = append(sc, ep.repo.Scope(s))
	}
	rt, err := transport.NewWithContext(ctx, ep.repo.Registry, auth, transport.NewRetry(ep.base), sc)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", ep.host, err)
	}
	return &session{ep: ep, client: &http.Client{Transport: rt, CheckRedirect: checkRedirect}, log: c.log, backoff: c.backoff}, nil
}

// maxRedirects bounds a chain of redirects (to a blob store's CDN).
const maxRedirects = 8

// errRedirect says a redirect was refused.
var errRedirect = errors.New("redirect refused")

// checkRedirect refuses a redirect loop or a redirect to a non-HTTP URL.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("%w: more than %d redirects (a redirect loop?), last to %s", errRedirect, maxRedirects, req.URL.Redacted())
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("%w: to %q, not an HTTP URL", errRedirect, req.URL.Redacted())
	}
	return nil
}

// url is the address of path under the repository: manifests/<ref>,
// blobs/<digest>.
func (s *session) url(path string) string {
	return fmt.Sprintf("%s://%s/v2/%s/%s", s.ep.scheme, s.ep.host, s.ep.repo.RepositoryStr(), path)
}

// manifest fetches the manifest or index named by reference (a tag or a
// digest) and returns its exact bytes and descriptor. A document fetched
// by digest must hash to it; one whose media type does not match its
// content is refused.
func (s *session) manifest(ctx context.Context, reference string) ([]byte, ocispec.Descriptor, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url("manifests/"+reference), nil)
	if err != nil {
		return nil, ocispec.Descriptor{}, err
	}
	req.Header.Set("Accept", manifestAccept)
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, ocispec.Descriptor{}, err
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return nil, ocispec.Descriptor{}, err
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, image.MaxManifestSize+1))
	if err != nil {
		return nil, ocispec.Descriptor{}, fmt.Errorf("read manifest: %w", err)
	}
	if len(b) > image.MaxManifestSize {
		return nil, ocispec.Descriptor{}, fmt.Errorf("manifest larger than %d bytes", image.MaxManifestSize)
	}
	d := digest.FromBytes(b)
	if want, err := digest.Parse(reference); err == nil && want != d {
		return nil, ocispec.Descriptor{}, fmt.Errorf("manifest %s: content hashes to %s", want, d)
	}
	if h := resp.Header.Get("Docker-Content-Digest"); h != "" && h != d.String() {
		if hd, err := digest.Parse(h); err == nil && hd.Algorithm() == digest.SHA256 {
			return nil, ocispec.Descriptor{}, fmt.Errorf("manifest %s: registry says its digest is %s but it hashes to %s", reference, h, d)
		}
	}
	mt, err := manifestType(resp.Header.Get("Content-Type"), b)
	if err != nil {
		return nil, ocispec.Descriptor{}, fmt.Errorf("manifest %s: %w", reference, err)
	}
	return b, ocispec.Descriptor{MediaType: mt, Digest: d, Size: int64(len(b))}, nil
}

// manifestType is a fetched document's media type: the Content-Type when
// it names a manifest or index (checked against the document later),
// else what the document says it is.
func manifestType(contentType string, b []byte) (string, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err == nil && (image.IsManifest(mt) || image.IsIndex(mt)) {
		return mt, nil
	}
	sniffed, serr := image.SniffMediaType(b)
	if serr != nil {
		return "", serr
	}
	if !image.IsManifest(sniffed) && !image.IsIndex(sniffed) {
		return "", fmt.Errorf("media type %q is neither a manifest nor an index: %w", sniffed, image.ErrMediaType)
	}
	return sniffed, nil
}

// errTruncated says a response ended before the bytes it promised.
var errTruncated = errors.New("blob truncated")

// getBlob requests a blob of size bytes from offset off: a Range request
// when off is positive (closed, bytes=off-last: some registries know no
// open ranges). It returns the body positioned at off, or an error
// (*transport.Error for an error status).
func (s *session) getBlob(ctx context.Context, u string, off, size int64) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if off > 0 && off < size {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, size-1))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	if req.Header.Get("Range") != "" && !rangeHonoured(resp, off) {
		// A registry that knows no ranges (416), or answers one from
		// another offset: ask for it all and skip the start.
		s.log.Debug("range request not honoured, fetching the whole blob", "url", req.URL.Redacted(),
			"status", resp.StatusCode, "content-range", resp.Header.Get("Content-Range"))
		resp.Body.Close()
		req.Header.Del("Range")
		if resp, err = s.client.Do(req); err != nil {
			return nil, err
		}
	}
	switch resp.StatusCode {
	case http.StatusOK:
		if off > 0 {
			// No range support: skip what we have.
			if _, err := io.CopyN(io.Discard, resp.Body, off); err != nil {
				resp.Body.Close()
				return nil, fmt.Errorf("skip %d bytes already received: %w", off, err)
			}
		}
		return resp.Body, nil
	case http.StatusPartialContent:
		start, err := parseContentRange(resp.Header.Get("Content-Range"))
		if err != nil || start != off {
			resp.Body.Close()
			return nil, fmt.Errorf("range request from %d answered with Content-Range %q", off, resp.Header.Get("Content-Range"))
		}
		return resp.Body, nil
	}
	defer resp.Body.Close()
	return nil, transport.CheckError(resp, http.StatusOK, http.StatusPartialContent)
}

// rangeHonoured tells whether resp answers a Range request from off as
// asked: anything but a 416, or a 206 starting elsewhere (a 200 with the
// whole blob is handled by skipping).
func rangeHonoured(resp *http.Response, off int64) bool {
	switch resp.StatusCode {
	case http.StatusRequestedRangeNotSatisfiable:
		return false
	case http.StatusPartialContent:
		start, err := parseContentRange(resp.Header.Get("Content-Range"))
		return err == nil && start == off
	}
	return true
}

// parseContentRange returns the first byte of a Content-Range header
// ("bytes 100-199/200", "bytes 100-199/*").
func parseContentRange(h string) (int64, error) {
	rest, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return 0, fmt.Errorf("content range %q: not in bytes", h)
	}
	rng, total, ok := strings.Cut(rest, "/")
	if !ok || total == "" {
		return 0, fmt.Errorf("content range %q: no total", h)
	}
	first, last, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, fmt.Errorf("content range %q: no range", h)
	}
	a, err := parseUint(first)
	if err != nil {
		return 0, fmt.Errorf("content range %q: %w", h, err)
	}
	b, err := parseUint(last)
	if err != nil || b < a {
		return 0, fmt.Errorf("content range %q: bad last byte", h)
	}
	if total != "*" {
		t, err := parseUint(total)
		if err != nil || t <= b {
			return 0, fmt.Errorf("content range %q: bad total", h)
		}
	}
	return a, nil
}

// parseUint parses a decimal byte position, at most 18 digits.
func parseUint(s string) (int64, error) {
	if s == "" || len(s) > 18 {
		return 0, fmt.Errorf("bad number %q", s)
	}
	var n int64
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad number %q", s)
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}
