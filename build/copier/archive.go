package copier

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"

	"berth/layer"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"golang.org/x/sys/unix"
)

// Archive compressions ADD recognises by magic bytes, as Docker's
// archive.DetectCompression does.
var (
	magicGzip  = []byte{0x1f, 0x8b, 0x08}
	magicBzip2 = []byte{'B', 'Z', 'h'}
	magicXz    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	magicZstd  = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// zstdMaxWindow bounds what a hostile zstd frame makes the decoder
// allocate (zstd's own CLI default limit).
const zstdMaxWindow = 128 << 20

// Decompress returns a reader of r's uncompressed bytes, finding gzip,
// bzip2, xz or zstd by magic bytes (anything else is passed through).
// Close releases the decompressor, not r.
func Decompress(r io.Reader) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(len(magicXz))
	switch {
	case bytes.HasPrefix(head, magicGzip):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("open gzip stream: %w", err)
		}
		return zr, nil
	case bytes.HasPrefix(head, magicBzip2):
		return io.NopCloser(bzip2.NewReader(br)), nil
	case bytes.HasPrefix(head, magicXz):
		xr, err := xz.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("open xz stream: %w", err)
		}
		return io.NopCloser(xr), nil
	case bytes.HasPrefix(head, magicZstd):
		zr, err := zstd.NewReader(br, zstd.WithDecoderMaxWindow(zstdMaxWindow), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("open zstd stream: %w", err)
		}
		return zr.IOReadCloser(), nil
	}
	return io.NopCloser(br), nil
}

// IsArchive reports whether r holds a tar archive, plain or compressed,
// by reading its first header as Docker's archive.IsArchivePath does.
func IsArchive(r io.Reader) bool {
	rc, err := Decompress(r)
	if err != nil {
		return false
	}
	defer rc.Close()
	_, err = tar.NewReader(rc).Next()
	return err == nil
}

// extractIfArchive unpacks the source file fd into the directory destRel
// when it is a tar archive, and reports whether it was one.
func (c *copier) extractIfArchive(fd int, s, destRel string) (bool, error) {
	probe, err := reopen(fd, unix.O_RDONLY)
	if err != nil {
		return false, fmt.Errorf("add %s: %w", s, err)
	}
	pf := os.NewFile(uintptr(probe), s)
	isTar := IsArchive(pf)
	pf.Close()
	if !isTar {
		return false, nil
	}
	dfd, err := c.dst.mkdirAll(destRel, c.o.Chown)
	if err != nil {
		return true, fmt.Errorf("add %s: destination: %w", s, err)
	}
	defer unix.Close(dfd)
	in, err := reopen(fd, unix.O_RDONLY)
	if err != nil {
		return true, fmt.Errorf("add %s: %w", s, err)
	}
	f := os.NewFile(uintptr(in), s)
	defer f.Close()
	if err := Extract(c.ctx, f, dfd); err != nil {
		return true, fmt.Errorf("add %s: extract into /%s: %w", s, destRel, err)
	}
	return true, nil
}

// Extract unpacks the tar archive r (plain, gzip, bzip2, xz or zstd)
// into the open directory dirfd with berth's hardened layer applier:
// names are resolved inside that directory, never outside it, and
// owners, modes and times come from the archive.
func Extract(ctx context.Context, r io.Reader, dirfd int) error {
	rc, err := Decompress(r)
	if err != nil {
		return err
	}
	defer rc.Close()
	// layer.Apply opens its target by path; our own fd link names
	// exactly the directory we resolved inside the root.
	_, err = layer.Apply(ctx, "/proc/self/fd/"+strconv.Itoa(dirfd), rc, layer.ApplyOptions{
		Whiteouts: layer.WhiteoutsMerge,
		Devices:   layer.DevicesAllow,
	})
	return err
}
