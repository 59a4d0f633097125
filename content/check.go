package content

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// FindingKind classifies what Check found.
type FindingKind string

// The kinds of finding.
const (
	// KindCorruptBlob: a blob whose content does not hash to its name, or
	// that is not a regular file. Repair removes it; pull it again.
	KindCorruptBlob FindingKind = "corrupt-blob"
	// KindStaleIngest: a partial write no writer holds (left by Close or
	// by a killed process). Repair removes it, forfeiting its resume.
	KindStaleIngest FindingKind = "stale-ingest"
	// KindStrayFile: a file that is no part of the layout, such as a
	// temporary file left by a crash. Repair removes it, except unknown
	// entries directly under blobs/, which may be another tool's.
	KindStrayFile FindingKind = "stray-file"
	// KindBadLayout: oci-layout, index.json or a directory of the layout
	// missing or invalid. Repair recreates it.
	KindBadLayout FindingKind = "bad-layout"
)

// Finding is one problem Check found.
type Finding struct {
	Kind     FindingKind   `json:"kind"`
	Path     string        `json:"path"` // relative to the store directory
	Digest   digest.Digest `json:"digest,omitempty"`
	Ref      string        `json:"ref,omitempty"`
	Detail   string        `json:"detail"`
	Repaired bool          `json:"repaired"`
}

// Report is the outcome of Check.
type Report struct {
	Blobs         int       `json:"blobs"`         // blobs verified
	Bytes         int64     `json:"bytes"`         // their total size
	ActiveIngests int       `json:"activeIngests"` // partial writes held by live writers, left alone
	Findings      []Finding `json:"findings"`
}

// OK reports whether the store is sound: nothing found, or all repaired.
func (r Report) OK() bool {
	for _, f := range r.Findings {
		if !f.Repaired {
			return false
		}
	}
	return true
}

// Check verifies the whole store: the layout files, the digest of every
// blob, and the ingest area. With repair it also fixes what it finds (see
// the FindingKind constants). It is safe while other processes read and
// write the store: ingests held by live writers are left alone, and a
// corrupt blob replaced by a good copy meanwhile is kept. An error means
// the check could not run to the end (ctx ended, a directory could not
// be read); problems with the store are findings, not errors.
func (s *Store) Check(ctx context.Context, repair bool) (Report, error) {
	c := &checker{s: s, repair: repair}
	c.layout()
	for _, step := range []func(context.Context) error{c.root, c.blobs, c.ingests} {
		if err := step(ctx); err != nil {
			return c.r, fmt.Errorf("check content store %s: %w", s.dir, err)
		}
	}
	return c.r, nil
}

// checker carries one Check's state.
type checker struct {
	s      *Store
	repair bool
	r      Report
}

// find records f, applying fix first when repairing.
func (c *checker) find(f Finding, fix func() error) {
	if c.repair && fix != nil {
		if err := fix(); err != nil {
			f.Detail += "; repair failed: " + err.Error()
		} else {
			f.Repaired = true
		}
	}
	c.r.Findings = append(c.r.Findings, f)
}

// path is p relative to the store, for findings.
func (c *checker) path(p string) string {
	if rel, err := filepath.Rel(c.s.dir, p); err == nil {
		return rel
	}
	return p
}

// layout checks oci-layout, index.json, lock and the layout directories.
func (c *checker) layout() {
	p := filepath.Join(c.s.dir, layoutFile)
	if b, err := os.ReadFile(p); err != nil || checkLayout(b) != nil {
		if err == nil {
			err = checkLayout(b)
		}
		c.find(Finding{Kind: KindBadLayout, Path: layoutFile, Detail: err.Error()},
			func() error { return writeFileAtomic(p, layoutJSON(), 0o644) })
	}
	p = filepath.Join(c.s.dir, indexFile)
	if _, err := os.Lstat(p); err != nil {
		c.find(Finding{Kind: KindBadLayout, Path: indexFile, Detail: err.Error()},
			func() error { return writeFileAtomic(p, emptyIndexJSON(), 0o644) })
	}
	p = filepath.Join(c.s.dir, lockFile)
	if _, err := os.Lstat(p); err != nil {
		c.find(Finding{Kind: KindBadLayout, Path: lockFile, Detail: err.Error()}, func() error {
			f, err := os.OpenFile(p, os.O_RDONLY|os.O_CREATE, 0o600)
			if err == nil {
				f.Close()
			}
			return err
		})
	}
	for _, d := range []string{filepath.Join(blobsDir, string(digest.SHA256)), ingestDir} {
		p := filepath.Join(c.s.dir, d)
		if fi, err := os.Lstat(p); err != nil || !fi.IsDir() {
			detail := "not a directory"
			if err != nil {
				detail = err.Error()
			}
			c.find(Finding{Kind: KindBadLayout, Path: d, Detail: detail},
				func() error { return os.MkdirAll(p, 0o700) })
		}
	}
}

// root finds temporary files left in the store directory by a crash
// during an atomic write.
func (c *checker) root(ctx context.Context) error {
	entries, err := os.ReadDir(c.s.dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if isTemp(e.Name()) {
			p := filepath.Join(c.s.dir, e.Name())
			c.find(Finding{Kind: KindStrayFile, Path: e.Name(), Detail: "temporary file left by an interrupted write"},
				func() error { return os.RemoveAll(p) })
		}
	}
	return ctx.Err()
}

// blobs verifies every blob and finds what is not a blob under blobs/.
func (c *checker) blobs(ctx context.Context) error {
	root := filepath.Join(c.s.dir, blobsDir)
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // reported by layout
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := filepath.Join(root, e.Name())
		alg := digest.Algorithm(e.Name())
		switch {
		case (alg == digest.SHA256 || alg == digest.SHA512) && e.IsDir():
			if err := c.blobDir(ctx, alg, p); err != nil {
				return err
			}
		case isTemp(e.Name()):
			c.find(Finding{Kind: KindStrayFile, Path: c.path(p), Detail: "temporary file left by an interrupted write"},
				func() error { return os.RemoveAll(p) })
		default:
			c.find(Finding{Kind: KindStrayFile, Path: c.path(p), Detail: "unknown entry under blobs/, left alone"}, nil)
		}
	}
	return nil
}

// blobDir verifies the blobs of one algorithm.
func (c *checker) blobDir(ctx context.Context, alg digest.Algorithm, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := filepath.Join(dir, e.Name())
		d := digest.NewDigestFromEncoded(alg, e.Name())
		if d.Validate() != nil {
			c.find(Finding{Kind: KindStrayFile, Path: c.path(p), Detail: "not named by a digest"},
				func() error { return os.RemoveAll(p) })
			continue
		}
		if err := c.verify(ctx, d, p); err != nil {
			return err
		}
	}
	return nil
}

// verify hashes the blob d at p and reports it if corrupt. Only an ended
// ctx is an error.
func (c *checker) verify(ctx context.Context, d digest.Digest, p string) error {
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // swept or deleted since the listing
	}
	var fi os.FileInfo
	if err == nil {
		defer f.Close()
		fi, err = f.Stat()
	}
	if err == nil && !fi.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	if err != nil {
		c.find(Finding{Kind: KindCorruptBlob, Path: c.path(p), Digest: d, Detail: err.Error()},
			func() error { return os.RemoveAll(p) })
		return nil
	}
	h := d.Algorithm().Hash()
	if _, err := io.Copy(h, ctxReader{ctx, f}); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.find(Finding{Kind: KindCorruptBlob, Path: c.path(p), Digest: d, Detail: "unreadable: " + err.Error()},
			func() error { return c.quarantine(f, p) })
		return nil
	}
	c.r.Blobs++
	c.r.Bytes += fi.Size()
	if got := digest.NewDigest(d.Algorithm(), h); got != d {
		c.find(Finding{Kind: KindCorruptBlob, Path: c.path(p), Digest: d, Detail: fmt.Sprintf("content hashes to %s", got)},
			func() error { return c.quarantine(f, p) })
	}
	return nil
}

// quarantine removes the corrupt blob open as f from p. It first moves p
// aside, then removes what it moved only if that is the file it hashed:
// a writer that committed a good copy meanwhile gets it back.
func (c *checker) quarantine(f *os.File, p string) error {
	tmp := filepath.Join(c.s.dir, ingestDir, tempName())
	if err := os.Rename(p, tmp); err != nil {
		return err
	}
	same, err := sameFile(f, tmp)
	if err == nil && !same {
		err = errors.New("replaced by a new copy meanwhile; kept")
	}
	if err != nil {
		if rerr := os.Rename(tmp, p); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	if err := os.Remove(tmp); err != nil {
		return err
	}
	return syncDir(filepath.Dir(p))
}

// ingests finds stale partial writes and stray files under ingest/.
func (c *checker) ingests(ctx context.Context) error {
	root := filepath.Join(c.s.dir, ingestDir)
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // reported by layout
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := filepath.Join(root, e.Name())
		if !isIngestName(e.Name()) || !e.IsDir() {
			c.find(Finding{Kind: KindStrayFile, Path: c.path(p), Detail: "not an ingest directory"},
				func() error { return os.RemoveAll(p) })
			continue
		}
		if err := c.ingest(p); err != nil {
			return err
		}
	}
	return nil
}

// ingest reports the ingest directory dir if no writer holds it, and
// removes it under its lock when repairing.
func (c *checker) ingest(dir string) error {
	d, err := os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // committed or aborted since the listing
	}
	if err != nil {
		return err
	}
	defer d.Close()
	free, err := tryLock(d, unix.LOCK_EX)
	if err != nil {
		return err
	}
	if !free {
		c.r.ActiveIngests++
		return nil
	}
	if same, err := sameFile(d, dir); err != nil || !same {
		return err // replaced since the listing: a new writer's
	}
	f := Finding{Kind: KindStaleIngest, Path: c.path(dir)}
	if info, err := readIngestInfo(dir); err == nil {
		f.Ref = info.Ref
		f.Digest = info.Expected.Digest
	}
	var size int64
	if fi, err := os.Lstat(filepath.Join(dir, ingestData)); err == nil {
		size = fi.Size()
	}
	f.Detail = fmt.Sprintf("partial write of %d bytes that no writer holds", size)
	c.find(f, func() error { return os.RemoveAll(dir) })
	return nil
}
