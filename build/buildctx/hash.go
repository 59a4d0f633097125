package buildctx

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"berth/build/copier"

	"github.com/opencontainers/go-digest"
)

// fileKey identifies a file's content for the per-build hash cache: a
// file whose device, inode, size, mtime and ctime are unchanged has not
// been written (ctime moves on every write, even one that restores the
// mtime).
type fileKey struct {
	dev, ino, size uint64
	mtime, ctime   int64
}

// entry is one thing a source holds, in walk order.
type entry struct {
	rel    string // relative to the source root ("." for the root)
	mode   uint32 // S_IFMT type and permission bits
	target string // symlink target
	rdev   uint64
	file   string // absolute path of a regular file to hash
	key    fileKey
	sum    digest.Digest
}

// hashWorkers is the size of the pool hashing file contents: enough to
// overlap I/O and use a few cores, few enough not to thrash a disk.
func hashWorkers() int {
	n := runtime.GOMAXPROCS(0)
	if n > 4 {
		n = 4
	}
	return n
}

// Hash returns a digest of what the sources would copy: for each source
// its name and, for every entry below it that .dockerignore keeps, the
// relative path, type, permission bits, symlink target and content
// digest. Times and owners are left out (COPY resets owners; times do
// not change what a build means), so touching a file without changing
// it keeps the digest. URL sources are downloaded once per build and
// hashed with their Last-Modified time.
func (c *Context) Hash(sources []Source) (digest.Digest, error) {
	return c.HashContext(context.Background(), sources)
}

// HashContext is Hash with cancellation.
func (c *Context) HashContext(ctx context.Context, sources []Source) (digest.Digest, error) {
	h := sha256.New()
	for _, s := range sources {
		if s.URL {
			d, err := c.fetch(ctx, s.Path)
			if err != nil {
				return "", err
			}
			sum, err := fileDigest(d.Path)
			if err != nil {
				return "", fmt.Errorf("hash %s: %w", s.Path, err)
			}
			fmt.Fprintf(h, "url\x00%s\x00%s\x00%d\x00", s.Path, sum, d.ModTime.UnixNano())
			continue
		}
		ents, err := c.walk(ctx, s)
		if err != nil {
			return "", err
		}
		if err := c.hashFiles(ctx, ents); err != nil {
			return "", err
		}
		fmt.Fprintf(h, "source\x00%s\x00%d\x00", s.Path, len(ents))
		var num [8]byte
		for _, e := range ents {
			h.Write([]byte(e.rel))
			h.Write([]byte{0})
			binary.BigEndian.PutUint32(num[:4], e.mode)
			h.Write(num[:4])
			switch e.mode & unix.S_IFMT {
			case unix.S_IFLNK:
				h.Write([]byte(e.target))
			case unix.S_IFREG:
				h.Write([]byte(e.sum))
			case unix.S_IFCHR, unix.S_IFBLK:
				binary.BigEndian.PutUint64(num[:], e.rdev)
				h.Write(num[:])
			}
			h.Write([]byte{0})
		}
	}
	return digest.NewDigest(digest.SHA256, h), nil
}

// walk lists what the source s holds, sorted, with .dockerignore applied
// exactly as copier applies it.
func (c *Context) walk(ctx context.Context, s Source) ([]*entry, error) {
	rules := c.rules()
	var out []*entry
	var visit func(rel, name string, st *unix.Stat_t) error
	visit = func(rel, name string, st *unix.Stat_t) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		abs := filepath.Join(c.dir, filepath.FromSlash(rel))
		e := &entry{rel: name, mode: st.Mode & (unix.S_IFMT | 0o7777), rdev: uint64(st.Rdev)}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			e.file = abs
			e.key = fileKey{dev: uint64(st.Dev), ino: st.Ino, size: uint64(st.Size),
				mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}
		case unix.S_IFLNK:
			var err error
			if e.target, err = os.Readlink(abs); err != nil {
				return fmt.Errorf("hash %s: %w", rel, err)
			}
		}
		out = append(out, e)
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return nil
		}
		f, err := os.Open(abs)
		if err != nil {
			return fmt.Errorf("hash %s: %w", rel, err)
		}
		names, err := f.Readdirnames(-1)
		f.Close()
		if err != nil {
			return fmt.Errorf("hash %s: %w", rel, err)
		}
		sort.Strings(names)
		for _, n := range names {
			childRel := path.Join(rel, n)
			var cst unix.Stat_t
			if err := unix.Lstat(filepath.Join(abs, n), &cst); err != nil {
				if errors.Is(err, unix.ENOENT) {
					continue // removed while we walk
				}
				return fmt.Errorf("hash %s: %w", childRel, err)
			}
			isDir := cst.Mode&unix.S_IFMT == unix.S_IFDIR
			if ex, descend := rules.exclude(childRel, isDir); ex && !(isDir && descend) {
				continue
			}
			if err := visit(childRel, path.Join(name, n), &cst); err != nil {
				return err
			}
		}
		return nil
	}
	// The source root's links are followed (Resolved has none left).
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(c.dir, filepath.FromSlash(s.Resolved)), &st); err != nil {
		return nil, fmt.Errorf("hash %s: %w", s.Path, err)
	}
	if err := visit(s.Resolved, ".", &st); err != nil {
		return nil, err
	}
	return out, nil
}

// hashFiles fills in the content digests of the regular files in ents,
// from the per-build cache or by reading them with a small worker pool.
func (c *Context) hashFiles(ctx context.Context, ents []*entry) error {
	var todo []*entry
	c.mu.Lock()
	for _, e := range ents {
		if e.file == "" {
			continue
		}
		if d, ok := c.lookupLocked(e.key); ok {
			e.sum = d
			continue
		}
		todo = append(todo, e)
	}
	c.mu.Unlock()
	if len(todo) == 0 {
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(hashWorkers())
	for _, e := range todo {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			d, err := fileDigest(e.file)
			if err != nil {
				return fmt.Errorf("hash %s: %w", e.file, err)
			}
			e.sum = d
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	c.mu.Lock()
	for _, e := range todo {
		c.hashes[e.key] = e.sum
	}
	c.mu.Unlock()
	return nil
}

// fileDigest is the sha256 of a file's content. The file is opened
// without following a link and must still be a regular file.
func fileDigest(p string) (digest.Digest, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s: %w", p, fs.ErrInvalid)
	}
	d := digest.SHA256.Digester()
	if _, err := io.Copy(d.Hash(), f); err != nil {
		return "", err
	}
	return d.Digest(), nil
}

// fetch downloads a URL once per build into the context's scratch
// directory.
func (c *Context) fetch(ctx context.Context, u string) (copier.Download, error) {
	c.mu.Lock()
	d, ok := c.fetched[u]
	c.mu.Unlock()
	if ok {
		return d, nil
	}
	dir, err := c.scratch()
	if err != nil {
		return copier.Download{}, err
	}
	d, err = copier.Fetch(ctx, c.client, u, dir)
	if err != nil {
		return copier.Download{}, err
	}
	c.mu.Lock()
	c.fetched[u] = d
	c.mu.Unlock()
	return d, nil
}

// scratch returns the context's own temporary directory, made on first
// use and removed by Close.
func (c *Context) scratch() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.scratchDir == "" {
		d, err := os.MkdirTemp("", "berth-buildctx-"+strconv.Itoa(os.Getpid())+"-")
		if err != nil {
			return "", fmt.Errorf("build context scratch directory: %w", err)
		}
		c.scratchDir = d
	}
	return c.scratchDir, nil
}
