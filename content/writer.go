package content

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// Names inside an ingest directory.
const (
	ingestData = "data"
	ingestMeta = "ingest.json"
)

// How long Writer tries a busy ingest lock before reporting ErrLocked. A
// Check repairing the store holds an idle ingest's lock for an instant;
// a real writer holds it far longer.
const (
	lockTries    = 5
	lockInterval = 20 * time.Millisecond
)

// ingestInfo is ingest.json: what a partial write is for.
type ingestInfo struct {
	Ref      string             `json:"ref"`
	Expected ocispec.Descriptor `json:"expected"`
}

// Writer writes one blob into the store through ingest/. It is not safe
// for concurrent use; end it with Commit, Close (keep the partial data to
// resume) or Abort (drop it).
type Writer struct {
	s    *Store
	ref  string
	dir  string   // ingest/<name>
	lock *os.File // dir, flocked LOCK_EX while the writer lives
	f    *os.File // dir/data
	h    hash.Hash
	off  int64
	want ocispec.Descriptor
	done bool
}

// Writer opens the ingest named ref for the blob described by want. When
// want.Digest is set, Commit checks it (sha256 only) and Writer returns
// ErrAlreadyExists if that blob is committed already (with the expected
// size, if given); when want.Size is positive, Commit checks it and Write
// refuses bytes beyond it. If a
// partial write of ref for the same digest and size exists (left by Close
// or by a killed process), the writer resumes it: skip Offset bytes of the
// source. A partial write for another expectation is discarded. If
// another writer, in any process, holds ref, Writer fails with ErrLocked.
func (s *Store) Writer(ctx context.Context, ref string, want ocispec.Descriptor) (*Writer, error) {
	name, err := ingestName(ref)
	if err != nil {
		return nil, fmt.Errorf("content writer: %w", err)
	}
	if err := checkWant(want); err != nil {
		return nil, fmt.Errorf("ingest %s: %w", quote(ref), err)
	}
	if _, ok := s.present(want); ok {
		return nil, fmt.Errorf("ingest %s: %w: %s", quote(ref), ErrAlreadyExists, want.Digest)
	}
	dir := filepath.Join(s.dir, ingestDir, name)
	lock, err := lockIngest(ctx, dir)
	if err != nil {
		if errors.Is(err, ErrLocked) {
			return nil, fmt.Errorf("ingest %s %w by another writer", quote(ref), ErrLocked)
		}
		return nil, fmt.Errorf("ingest %s: %w", quote(ref), err)
	}
	// Check again under the lock: the writer we waited for may have
	// committed the blob, and its partial data is then of no use.
	if _, ok := s.present(want); ok {
		os.RemoveAll(dir)
		lock.Close()
		return nil, fmt.Errorf("ingest %s: %w: %s", quote(ref), ErrAlreadyExists, want.Digest)
	}
	w := &Writer{s: s, ref: ref, dir: dir, lock: lock, want: want, h: sha256.New()}
	if err := w.open(ctx); err != nil {
		if w.f != nil {
			w.f.Close()
		}
		lock.Close()
		return nil, fmt.Errorf("ingest %s: %w", quote(ref), err)
	}
	return w, nil
}

// WaitWriter is Writer, but waits while another writer holds ref, until
// ctx ends. When that writer commits the blob, WaitWriter returns
// ErrAlreadyExists: two pulls of one layer download it once.
func (s *Store) WaitWriter(ctx context.Context, ref string, want ocispec.Descriptor) (*Writer, error) {
	for {
		w, err := s.Writer(ctx, ref, want)
		if !errors.Is(err, ErrLocked) {
			return w, err
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return nil, fmt.Errorf("ingest %s: wait for lock: %w", quote(ref), err)
		}
	}
}

// checkWant refuses an expectation the store cannot write.
func checkWant(want ocispec.Descriptor) error {
	if want.Size < 0 {
		return fmt.Errorf("%w: negative expected size %d", ErrSizeMismatch, want.Size)
	}
	if want.Digest == "" {
		return nil
	}
	alg, _, err := parseDigest(want.Digest)
	if err != nil {
		return err
	}
	if alg != digest.SHA256 {
		return fmt.Errorf("%w %s: the store writes sha256 only", ErrInvalidDigest, want.Digest)
	}
	return nil
}

// lockIngest creates dir if needed and returns it open and flocked
// LOCK_EX. A directory removed by its previous holder between our open
// and our lock is detected and the whole step retried on the new one.
func lockIngest(ctx context.Context, dir string) (*os.File, error) {
	busy := 0
	for range 100 {
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		d, err := os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		ok, err := tryLock(d, unix.LOCK_EX)
		if err != nil {
			d.Close()
			return nil, err
		}
		if !ok {
			d.Close()
			if busy++; busy >= lockTries {
				return nil, ErrLocked
			}
			if err := sleep(ctx, lockInterval); err != nil {
				return nil, err
			}
			continue
		}
		same, err := sameFile(d, dir)
		if err != nil {
			d.Close()
			return nil, err
		}
		if same {
			return d, nil
		}
		d.Close()
	}
	return nil, fmt.Errorf("lock %s: directory keeps changing", dir)
}

// open resumes the partial data if it was written for the same
// expectation, and starts it afresh otherwise.
func (w *Writer) open(ctx context.Context) error {
	data := filepath.Join(w.dir, ingestData)
	info, err := readIngestInfo(w.dir)
	resume := err == nil && info.Ref == w.ref &&
		info.Expected.Digest == w.want.Digest && info.Expected.Size == w.want.Size
	flags := os.O_RDWR | os.O_CREATE
	if !resume {
		b, err := json.Marshal(ingestInfo{Ref: w.ref, Expected: w.want})
		if err != nil {
			return err
		}
		// Not fsynced: a torn ingest.json after a power loss only costs
		// the resume.
		if err := renameInto(filepath.Join(w.dir, ingestMeta), b); err != nil {
			return err
		}
		flags |= os.O_TRUNC
	}
	w.f, err = os.OpenFile(data, flags|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	if !resume {
		return nil
	}
	// The hash state is not saved: rebuild it from the partial data.
	n, err := io.Copy(w.h, ctxReader{ctx, w.f})
	if err != nil {
		return fmt.Errorf("rehash partial data: %w", err)
	}
	w.off = n
	if w.want.Size > 0 && n > w.want.Size {
		// More than the blob can hold: nothing in it is trustworthy.
		if err := w.f.Truncate(0); err != nil {
			return err
		}
		if _, err := w.f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		w.h.Reset()
		w.off = 0
	}
	return nil
}

// readIngestInfo reads dir/ingest.json.
func readIngestInfo(dir string) (ingestInfo, error) {
	var info ingestInfo
	b, err := os.ReadFile(filepath.Join(dir, ingestMeta))
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("parse %s: %w", filepath.Join(dir, ingestMeta), err)
	}
	return info, nil
}

// renameInto replaces path with data through a temp file and a rename,
// without fsync: atomic against a kill, not durable against a power loss.
func renameInto(path string, data []byte) error {
	tmp := filepath.Join(filepath.Dir(path), tempName())
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// Ref is the writer's ingest ref.
func (w *Writer) Ref() string { return w.ref }

// Offset is how many bytes the writer holds; a resumed writer starts
// there, so the caller skips that many bytes of its source.
func (w *Writer) Offset() int64 { return w.off }

// Digest is the digest of the bytes written so far.
func (w *Writer) Digest() digest.Digest { return digest.NewDigest(digest.SHA256, w.h) }

// Write appends p to the blob. Bytes beyond a positive expected size are
// refused with ErrSizeMismatch and not written, so a hostile source
// cannot fill the disk.
func (w *Writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, fmt.Errorf("ingest %s: write after the writer ended", quote(w.ref))
	}
	if w.want.Size > 0 && w.off+int64(len(p)) > w.want.Size {
		return 0, fmt.Errorf("ingest %s: %w: more than the expected %d bytes", quote(w.ref), ErrSizeMismatch, w.want.Size)
	}
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.off += int64(n)
	if err != nil {
		return n, fmt.Errorf("ingest %s: %w", quote(w.ref), err)
	}
	return n, nil
}

// Commit verifies the data against the expected size and digest, makes it
// durable and publishes it as blobs/sha256/<hex> by an atomic rename. If
// the blob is already there, ours is dropped. On a size or digest
// mismatch the partial data is removed (it can never become right) and
// the error wraps ErrSizeMismatch or ErrDigestMismatch. The descriptor
// returned is want with the actual digest and size. The writer is ended
// whatever the outcome, except when ctx has ended already.
func (w *Writer) Commit(ctx context.Context) (ocispec.Descriptor, error) {
	if w.done {
		return ocispec.Descriptor{}, fmt.Errorf("ingest %s: commit after the writer ended", quote(w.ref))
	}
	if err := ctx.Err(); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("ingest %s: %w", quote(w.ref), err)
	}
	if w.want.Size > 0 && w.off != w.want.Size {
		w.Abort()
		return ocispec.Descriptor{}, fmt.Errorf("ingest %s: %w: got %d bytes, want %d", quote(w.ref), ErrSizeMismatch, w.off, w.want.Size)
	}
	got := w.Digest()
	if w.want.Digest != "" && got != w.want.Digest {
		w.Abort()
		return ocispec.Descriptor{}, fmt.Errorf("ingest %s: %w: got %s, want %s", quote(w.ref), ErrDigestMismatch, got, w.want.Digest)
	}
	if err := w.publish(got); err != nil {
		w.Close() // the data is good: a retry resumes and commits it
		return ocispec.Descriptor{}, fmt.Errorf("ingest %s: commit %s: %w", quote(w.ref), got, err)
	}
	if err := w.Abort(); err != nil {
		// The blob is published; a leftover ingest is Check's to remove.
		w.s.logger().Warn("remove committed ingest", "ref", w.ref, "err", err)
	}
	desc := w.want
	desc.Digest, desc.Size = got, w.off
	return desc, nil
}

// publish makes the data durable and renames it to its blob path, unless
// an intact copy is already there.
func (w *Writer) publish(d digest.Digest) error {
	if err := w.f.Sync(); err != nil {
		return err
	}
	if err := w.f.Chmod(0o444); err != nil {
		return err
	}
	target, err := w.s.blobPath(d)
	if err != nil {
		return err
	}
	if fi, err := os.Lstat(target); err == nil && fi.Mode().IsRegular() && fi.Size() == w.off {
		return nil // a concurrent writer of the same blob won
	}
	// A missing or damaged copy is replaced: rename is atomic, so
	// readers see the old file or ours, never a mix.
	if err := os.Rename(filepath.Join(w.dir, ingestData), target); err != nil {
		return err
	}
	return syncDir(filepath.Dir(target))
}

// Close ends the writer and keeps its partial data, so a later Writer of
// the same ref resumes it.
func (w *Writer) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	err := w.f.Close()
	if cerr := w.lock.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("ingest %s: close: %w", quote(w.ref), err)
	}
	return nil
}

// Abort ends the writer and removes its partial data.
func (w *Writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	// Removed while we hold the lock: a writer waiting for it finds the
	// directory gone and makes a new one (see lockIngest).
	err := os.RemoveAll(w.dir)
	w.lock.Close()
	if err != nil {
		return fmt.Errorf("ingest %s: abort: %w", quote(w.ref), err)
	}
	return nil
}

// ctxReader stops a long read (a copy, a rehash) when ctx ends.
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
