package ship

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth/content"
)

// Retry policy of a blob download: attempts after the first, and the
// back-off between them (doubled each time, capped).
const (
	fetchRetries  = 5
	fetchBackoff  = 200 * time.Millisecond
	fetchMaxDelay = 5 * time.Second
)

// ingestRef is the content-store ingest a pulled blob is written to: the
// same for every pull of the blob, so one resumes what another left.
func ingestRef(d ocispec.Descriptor) string { return "pull-" + d.Digest.String() }

// fetchBlob downloads the blob d into the content store unless it is
// there already, and reports whether it downloaded it. Bytes left by an
// earlier, interrupted download are kept and only the rest is requested;
// a dropped connection is retried with back-off from where it stopped.
// The blob is published only once its size and digest are right. When
// the download fails for good the partial data is kept only if a later
// pull can use it (the network failed, or ctx ended); a registry that
// sent wrong bytes leaves nothing. A blob pieced together from several
// responses that does not verify is fetched once more, whole: the bytes
// kept from before may be the bad ones.
func (s *session) fetchBlob(ctx context.Context, cs *content.Store, d ocispec.Descriptor, bar blobBar) (bool, error) {
	got, pieced, err := s.fetchOnce(ctx, cs, d, bar)
	if err != nil && pieced && errors.Is(err, content.ErrDigestMismatch) && ctx.Err() == nil {
		s.log.Warn("resumed download did not verify, fetching it again whole", "digest", d.Digest, "error", err)
		bar.resumed(0)
		got, _, err = s.fetchOnce(ctx, cs, d, bar)
	}
	return got, err
}

// fetchOnce is one go of fetchBlob; pieced says the data came from more
// than one response (resumed from an earlier pull, or after a retry).
func (s *session) fetchOnce(ctx context.Context, cs *content.Store, d ocispec.Descriptor, bar blobBar) (got, pieced bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, false, fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	want := ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}
	w, err := cs.WaitWriter(ctx, ingestRef(d), want)
	if errors.Is(err, content.ErrAlreadyExists) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	keep := false
	done := false
	defer func() {
		if done {
			return
		}
		// Nothing received is nothing to resume: leave no empty ingest.
		if keep && w.Offset() > 0 {
			_ = w.Close()
		} else {
			_ = w.Abort()
		}
	}()
	if off := w.Offset(); off > 0 {
		pieced = true
		bar.resumed(off)
	}
	for attempt := 0; w.Offset() < d.Size; attempt++ {
		if attempt > 0 {
			pieced = true
		}
		err := s.download(ctx, w, d, bar)
		if err == nil {
			continue
		}
		keep = resumable(ctx, err)
		if !retryable(ctx, err) || attempt >= fetchRetries {
			if attempt > 0 {
				err = fmt.Errorf("%w (after %d attempts)", err, attempt+1)
			}
			return false, pieced, fmt.Errorf("blob %s: %w", d.Digest, err)
		}
		delay := min(s.backoff<<attempt, fetchMaxDelay)
		s.log.Debug("retry blob download", "digest", d.Digest, "offset", w.Offset(), "delay", delay, "error", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			keep = true
			return false, pieced, fmt.Errorf("blob %s: %w", d.Digest, ctx.Err())
		case <-t.C:
		}
	}
	bar.verifying()
	if _, err := w.Commit(ctx); err != nil {
		if ctx.Err() != nil {
			keep = true // stopped before the check: the data may be good
		} else {
			done = true // Commit ended the writer (and dropped bad data)
		}
		return false, pieced, fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	done = true
	return true, pieced, nil
}

// download copies the rest of the blob, from the writer's offset, from
// the registry (or, for a non-distributable layer it does not have, the
// layer's own URLs). A response that ends early is errTruncated.
func (s *session) download(ctx context.Context, w *content.Writer, d ocispec.Descriptor, bar blobBar) error {
	off := w.Offset()
	body, err := s.getBlob(ctx, s.url("blobs/"+d.Digest.String()), off, d.Size)
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound && len(d.URLs) > 0 {
		body, err = s.foreign(ctx, d, off)
	}
	if err != nil {
		return err
	}
	defer body.Close()
	n, err := io.CopyBuffer(w, progressReader{r: io.LimitReader(body, d.Size-off), bar: bar}, make([]byte, 256<<10))
	if err != nil {
		return err
	}
	if off+n < d.Size {
		return fmt.Errorf("%w: the response ended at byte %d of %d", errTruncated, off+n, d.Size)
	}
	return nil
}

// foreign fetches a non-distributable layer from the first of its URLs
// that answers. Only http and https URLs are followed.
func (s *session) foreign(ctx context.Context, d ocispec.Descriptor, off int64) (io.ReadCloser, error) {
	var last error = fmt.Errorf("non-distributable layer: no usable URL in %q", d.URLs)
	for _, raw := range d.URLs {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			continue
		}
		// A foreign server gets no registry credentials: plain client.
		fs := &session{ep: s.ep, client: &http.Client{Transport: http.DefaultTransport, CheckRedirect: checkRedirect}, log: s.log, backoff: s.backoff}
		body, err := fs.getBlob(ctx, u.String(), off, d.Size)
		if err == nil {
			return body, nil
		}
		last = fmt.Errorf("non-distributable layer from %s: %w", u.Redacted(), err)
	}
	return nil, last
}

// retryable tells whether a failed download is worth another attempt:
// the network failed, the response was cut short or the registry is
// overloaded; not that it refused or sent bad data.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		return terr.StatusCode >= 500 || terr.StatusCode == http.StatusTooManyRequests || terr.StatusCode == http.StatusRequestTimeout
	}
	return errors.Is(err, errTruncated) || networkError(err)
}

// resumable tells whether the partial data of a failed download is worth
// keeping for the next pull: the connection broke or the pull was
// stopped. A registry that ends a response early on purpose (a short
// but complete answer) gets no credit.
func resumable(ctx context.Context, err error) bool {
	return ctx.Err() != nil || networkError(err)
}

// networkError tells a transport failure (reset, refused, cut short,
// timed out) from a protocol or content error.
func networkError(err error) bool {
	if errors.Is(err, errRedirect) {
		return false
	}
	var op *net.OpError
	var ne net.Error
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.EPIPE), errors.As(err, &op):
		return true
	case errors.As(err, &ne) && ne.Timeout():
		return true
	}
	return false
}

// progressReader reports bytes read to a progress bar.
type progressReader struct {
	r   io.Reader
	bar blobBar
}

// Read reads from the source and reports what it read to the bar.
func (p progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.bar.add(int64(n))
	}
	return n, err
}
