package layer

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/opencontainers/go-digest"
)

// Whiteouts says what Apply does with OCI whiteout entries.
type Whiteouts int

const (
	// WhiteoutsOverlay applies into an empty overlayfs upper directory: a
	// ".wh.name" becomes a 0:0 character device "name" and a
	// ".wh..wh..opq" sets trusted.overlay.opaque=y on its directory, so
	// overlayfs hides what lower layers hold there.
	WhiteoutsOverlay Whiteouts = iota + 1
	// WhiteoutsMerge applies onto a full copy of the parent layers: a
	// ".wh.name" removes "name", and a ".wh..wh..opq" removes what its
	// directory held before this layer (entries of this same layer stay,
	// as OCI says whiteouts apply to lower layers only).
	WhiteoutsMerge
)

// DevicePolicy says what Apply does with character and block devices.
type DevicePolicy int

const (
	// DevicesAllow creates device nodes (needs CAP_MKNOD).
	DevicesAllow DevicePolicy = iota
	// DevicesSkip leaves device nodes out silently, as rootless engines
	// do in a user namespace where mknod is not allowed.
	DevicesSkip
	// DevicesRefuse fails the layer at its first device node.
	DevicesRefuse
)

// ApplyOptions tunes Apply.
type ApplyOptions struct {
	// Whiteouts is how whiteout entries are applied; it must be set.
	Whiteouts Whiteouts
	// Devices is what happens to device nodes (FIFOs are always made).
	Devices DevicePolicy
	// NoSameOwner leaves every entry owned by the caller instead of the
	// uid and gid in the tar (tar's --no-same-owner), for appliers that
	// cannot chown.
	NoSameOwner bool
	// Logger receives debug notes on skipped entries and attributes;
	// nil means slog.Default().
	Logger *slog.Logger
}

// Result describes an applied layer.
type Result struct {
	// DiffID is the sha256 of the uncompressed tar: the layer's DiffID in
	// the image config's rootfs.diff_ids.
	DiffID digest.Digest
	// Size is the length of the uncompressed tar in bytes.
	Size int64
	// Compression is the compression that was detected.
	Compression Compression
}

// ErrDeviceRefused is wrapped by the error for a device node applied with
// DevicesRefuse.
var ErrDeviceRefused = errors.New("device nodes are not allowed")

// Apply unpacks the layer read from r (plain, gzip or zstd tar, detected
// by magic bytes) into dir. Every path is resolved inside dir (see the
// package documentation for the rules); a hostile entry fails the whole
// call with an error that names it. Apply reads r to its end, trailing
// padding included, so that Result.DiffID covers the whole stream.
//
// On error dir is left partly written: callers apply into a fresh
// snapshot and discard it on failure, which is what keeps the store as
// it was.
func Apply(ctx context.Context, dir string, r io.Reader, opts ApplyOptions) (Result, error) {
	if opts.Whiteouts != WhiteoutsOverlay && opts.Whiteouts != WhiteoutsMerge {
		return Result{}, fmt.Errorf("apply layer to %s: whiteout mode %d not set", dir, opts.Whiteouts)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	rc, comp, err := DecompressStream(ctxReader{ctx: ctx, r: r})
	if err != nil {
		return Result{}, fmt.Errorf("apply layer to %s: %w", dir, err)
	}
	defer rc.Close()
	res := Result{Compression: comp}

	rt, err := openRoot(dir)
	if err != nil {
		return res, err
	}
	defer rt.close()

	dg := digest.Canonical.Digester()
	cr := &countReader{r: io.TeeReader(rc, dg.Hash())}
	a := newApplier(rt, opts)
	defer a.dropParent()
	tr := tar.NewReader(cr)
	last := ""
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if last == "" {
				return res, fmt.Errorf("apply layer: read first tar header: %w", err)
			}
			return res, fmt.Errorf("apply layer: read tar header after entry %q: %w", last, err)
		}
		if err := a.entry(hdr, tr); err != nil {
			return res, fmt.Errorf("apply layer: entry %q: %w", hdr.Name, err)
		}
		last = hdr.Name
	}
	// The end-of-archive blocks and any padding after them are part of
	// the DiffID; a compressed stream is also checked to its end (gzip's
	// CRC) this way.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return res, fmt.Errorf("apply layer: read past end of archive: %w", err)
	}
	if err := a.finish(); err != nil {
		return res, fmt.Errorf("apply layer: %w", err)
	}
	res.DiffID = dg.Digest()
	res.Size = cr.n
	return res, nil
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ctxReader stops reading once ctx is done, so that a stuck or endless
// stream can be cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
