package buildctx

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"berth/layer"

	"github.com/opencontainers/go-digest"

	"berth/build/copier"
)

// FromTar reads a build context sent on r, as `docker build -` does: a
// tar archive (plain, gzip, bzip2, xz or zstd) is unpacked into a new
// directory under tmp ("" for the system's) with berth's hardened layer
// applier (no name or link can write outside it; devices are skipped;
// owners are the caller's); anything else is a Dockerfile with an empty
// context. Close removes the directory.
func FromTar(ctx context.Context, r io.Reader, tmp string) (*Context, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	isTar, err := looksLikeTar(br)
	if err != nil {
		return nil, fmt.Errorf("read build context from stdin: %w", err)
	}
	dir, err := os.MkdirTemp(tmp, "berth-context-")
	if err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	c := &Context{dir: dir, tmp: dir, hashes: map[fileKey]digest.Digest{}, fetched: map[string]copier.Download{}}
	if !isTar {
		df, err := io.ReadAll(io.LimitReader(br, maxDockerfile+1))
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("read Dockerfile from stdin: %w", err)
		}
		if len(df) > maxDockerfile {
			c.Close()
			return nil, fmt.Errorf("read Dockerfile from stdin: larger than %d bytes", maxDockerfile)
		}
		c.stdinDockerfile = df
		return c, nil
	}
	rc, err := copier.Decompress(br)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("read build context from stdin: %w", err)
	}
	defer rc.Close()
	_, err = layer.Apply(ctx, dir, rc, layer.ApplyOptions{
		Whiteouts:   layer.WhiteoutsMerge,
		Devices:     layer.DevicesSkip,
		NoSameOwner: true,
	})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("unpack build context from stdin: %w", err)
	}
	// The context's own root stays private to berth whatever the tar
	// said about ".".
	if err := os.Chmod(dir, 0o700); err != nil {
		c.Close()
		return nil, fmt.Errorf("build context: %w", err)
	}
	if err := c.loadIgnore(".dockerignore"); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// looksLikeTar peeks at br: a compressed stream, or a stream whose
// first block parses as a tar header, is a tar archive (Docker's
// archive.IsArchive).
func looksLikeTar(br *bufio.Reader) (bool, error) {
	head, err := br.Peek(512)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return false, err
	}
	for _, m := range [][]byte{{0x1f, 0x8b, 0x08}, {'B', 'Z', 'h'}, {0xfd, '7', 'z', 'X', 'Z', 0x00}, {0x28, 0xb5, 0x2f, 0xfd}} {
		if bytes.HasPrefix(head, m) {
			return true, nil
		}
	}
	if len(head) < 512 {
		return false, nil
	}
	_, err = tar.NewReader(bytes.NewReader(head)).Next()
	return err == nil || err == io.ErrUnexpectedEOF, nil
}
