package layer

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compression is how a layer stream is compressed.
type Compression int

const (
	// None is a plain tar stream.
	None Compression = iota
	// Gzip is tar+gzip (application/vnd.oci.image.layer.v1.tar+gzip).
	Gzip
	// Zstd is tar+zstd (application/vnd.oci.image.layer.v1.tar+zstd).
	Zstd
)

// String names the compression as OCI media type suffixes do.
func (c Compression) String() string {
	switch c {
	case None:
		return "none"
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	}
	return fmt.Sprintf("compression(%d)", int(c))
}

// Magic numbers at the start of a stream.
var (
	magicGzip  = []byte{0x1f, 0x8b}
	magicZstd  = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicBzip2 = []byte{'B', 'Z', 'h'}
	magicXz    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
)

// zstdMaxWindow bounds the memory a hostile zstd frame can make the decoder
// allocate; zstd's own command line refuses windows above 128 MiB unless
// told otherwise, so real layers stay below it.
const zstdMaxWindow = 128 << 20

// DetectCompression returns the compression the stream prefix head shows.
// bzip2 and xz, which Docker once accepted but OCI never did, are errors.
func DetectCompression(head []byte) (Compression, error) {
	switch {
	case bytes.HasPrefix(head, magicGzip):
		return Gzip, nil
	case bytes.HasPrefix(head, magicZstd):
		return Zstd, nil
	case bytes.HasPrefix(head, magicBzip2):
		return None, fmt.Errorf("unsupported layer compression bzip2")
	case bytes.HasPrefix(head, magicXz):
		return None, fmt.Errorf("unsupported layer compression xz")
	}
	return None, nil
}

// DecompressStream detects the compression of r by its magic bytes and
// returns a reader of the uncompressed bytes. Close releases the
// decompressor; it does not close r.
func DecompressStream(r io.Reader) (io.ReadCloser, Compression, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(len(magicXz))
	if err != nil && err != io.EOF {
		return nil, None, fmt.Errorf("read layer header: %w", err)
	}
	c, err := DetectCompression(head)
	if err != nil {
		return nil, None, err
	}
	switch c {
	case Gzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, c, fmt.Errorf("open gzip stream: %w", err)
		}
		return zr, c, nil
	case Zstd:
		zr, err := zstd.NewReader(br, zstd.WithDecoderMaxWindow(zstdMaxWindow), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, c, fmt.Errorf("open zstd stream: %w", err)
		}
		return zr.IOReadCloser(), c, nil
	}
	return io.NopCloser(br), None, nil
}

// CompressStream returns a writer that compresses into w with c. Close
// flushes the compressor (it does not close w). The output is a function
// of the input alone: gzip headers carry no name or time, and zstd runs
// synchronously, so the same tar gives the same compressed digest (with
// the same version of klauspost/compress; the DiffID never depends on it).
func CompressStream(w io.Writer, c Compression) (io.WriteCloser, error) {
	switch c {
	case None:
		return nopWriteCloser{w}, nil
	case Gzip:
		return gzip.NewWriter(w), nil
	case Zstd:
		zw, err := zstd.NewWriter(w, zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("open zstd writer: %w", err)
		}
		return zw, nil
	}
	return nil, fmt.Errorf("unknown compression %v", c)
}

// nopWriteCloser is a plain tar writer whose Close has nothing to flush.
type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
