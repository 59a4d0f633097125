package content

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// Info describes a committed blob.
type Info struct {
	Digest   digest.Digest
	Size     int64
	Modified time.Time
}

// Open opens the committed blob d for reading. It does not hash: use
// ReadBlob for small blobs, or verify while reading. The caller closes
// the file; Stat gives the size.
func (s *Store) Open(d digest.Digest) (*os.File, error) {
	p, err := s.blobPath(d)
	if err != nil {
		return nil, err
	}
	// O_NONBLOCK: a FIFO planted under blobs/ must not hang the open.
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, blobError(d, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, blobError(d, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("blob %s: not a regular file (run a store check)", d)
	}
	return f, nil
}

// ReadBlob reads the whole blob d, refusing one larger than max bytes
// (ErrTooLarge), and verifies its digest (ErrDigestMismatch: the blob on
// disk is corrupt). Meant for manifests, configs and indexes.
func (s *Store) ReadBlob(d digest.Digest, max int64) ([]byte, error) {
	f, err := s.Open(d)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, blobError(d, err)
	}
	if fi.Size() > max {
		return nil, fmt.Errorf("blob %s: %w: %d bytes, limit %d", d, ErrTooLarge, fi.Size(), max)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, blobError(d, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("blob %s: %w: more than %d bytes", d, ErrTooLarge, max)
	}
	if got := d.Algorithm().FromBytes(b); got != d {
		return nil, fmt.Errorf("blob %s: %w: content hashes to %s (run a store check)", d, ErrDigestMismatch, got)
	}
	return b, nil
}

// Info describes the committed blob d.
func (s *Store) Info(d digest.Digest) (Info, error) {
	p, err := s.blobPath(d)
	if err != nil {
		return Info{}, err
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return Info{}, blobError(d, err)
	}
	if !fi.Mode().IsRegular() {
		return Info{}, fmt.Errorf("blob %s: not a regular file (run a store check)", d)
	}
	return Info{Digest: d, Size: fi.Size(), Modified: fi.ModTime()}, nil
}

// Exists reports whether the blob d is committed; false for an invalid
// digest.
func (s *Store) Exists(d digest.Digest) bool {
	_, err := s.Info(d)
	return err == nil
}

// Path is the file of the committed blob d, for readers that need a
// path. The file must not be written: blobs are immutable.
func (s *Store) Path(d digest.Digest) (string, error) {
	if _, err := s.Info(d); err != nil {
		return "", err
	}
	return s.blobPath(d)
}

// Delete removes the committed blob d. GC should use Sweep, which does
// not race with writers; Delete is for a caller that knows the blob is
// unreferenced.
func (s *Store) Delete(d digest.Digest) error {
	p, err := s.blobPath(d)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil {
		return blobError(d, err)
	}
	return nil
}

// Walk calls fn for every committed blob (sha256, then sha512), stopping
// at fn's first error or when ctx ends. Files under blobs/ that are not
// blobs are skipped (Check reports them).
func (s *Store) Walk(ctx context.Context, fn func(Info) error) error {
	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
		dir := filepath.Join(s.dir, blobsDir, string(alg))
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("walk blobs: %w", err)
		}
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return err
			}
			d := digest.NewDigestFromEncoded(alg, e.Name())
			if d.Validate() != nil || !e.Type().IsRegular() {
				continue
			}
			fi, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed since the listing
			}
			if err != nil {
				return fmt.Errorf("walk blobs: %w", err)
			}
			if err := fn(Info{Digest: d, Size: fi.Size(), Modified: fi.ModTime()}); err != nil {
				return err
			}
		}
	}
	return nil
}

// blobError names the blob in a file error, mapping absence to
// ErrNotFound.
func blobError(d digest.Digest, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob %s: %w", d, ErrNotFound)
	}
	if errors.Is(err, unix.ELOOP) {
		return fmt.Errorf("blob %s: a symlink, not a blob (run a store check)", d)
	}
	return fmt.Errorf("blob %s: %w", d, err)
}
