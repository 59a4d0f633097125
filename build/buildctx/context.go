package buildctx

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"berth/build/copier"

	"github.com/opencontainers/go-digest"
)

// Context is a build context: a directory tree and its ignore rules.
// It is safe for concurrent use by the stages of one build.
type Context struct {
	dir string
	// tmp is removed by Close: the unpacked tar of FromTar.
	tmp string
	// stdinDockerfile is the Dockerfile read from stdin when the
	// context is empty (`berth build - < Dockerfile`).
	stdinDockerfile []byte

	// inRoot makes the tree a root filesystem (COPY --from): symlinks
	// that point out resolve inside it, as in a chroot, instead of
	// being refused, and no ignore file is read.
	inRoot bool
	// client downloads ADD URLs; nil is http.DefaultClient.
	client *http.Client

	mu         sync.Mutex
	scratchDir string
	ignore     *ignoreRules
	hashes     map[fileKey]digest.Digest
	// loaded are the digests remembered from the last build
	// (SetHashCache), cacheFile where they go back on Close.
	loaded     map[fileKey]digest.Digest
	cacheFile  string
	cacheStart time.Time
	fetched    map[string]copier.Download
}

// Open returns the context rooted at the directory dir, with the
// patterns of dir/.dockerignore.
func Open(ctx context.Context, dir string) (*Context, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("build context %s: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("build context: unable to prepare context: path %q not found", dir)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("build context: unable to prepare context: %q is not a directory", dir)
	}
	c := &Context{dir: abs, hashes: map[fileKey]digest.Digest{}, fetched: map[string]copier.Download{}}
	if err := c.loadIgnore(".dockerignore"); err != nil {
		return nil, err
	}
	return c, nil
}

// OpenTree returns a Context over the directory tree of a build stage
// or image, for COPY --from: no .dockerignore is read, and symlinks are
// followed inside the tree as if it were "/" (an absolute link such as
// /usr/bin/foo -> /usr/lib/x resolves in the tree, as Docker does),
// never outside it.
func OpenTree(ctx context.Context, dir string) (*Context, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("source tree %s: %w", dir, err)
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("source tree %s: not a directory", dir)
	}
	return &Context{dir: abs, inRoot: true, hashes: map[fileKey]digest.Digest{}, fetched: map[string]copier.Download{}}, nil
}

// SetHTTPClient sets the client that downloads ADD URLs.
func (c *Context) SetHTTPClient(h *http.Client) { c.client = h }

// Dir is the directory holding the context's files.
func (c *Context) Dir() string { return c.dir }

// Close removes what the context made (the unpacked tar of FromTar and
// downloaded URLs).
func (c *Context) Close() error {
	var errs []error
	if err := c.saveHashCache(); err != nil {
		errs = append(errs, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range c.fetched {
		if err := os.Remove(d.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	c.fetched = map[string]copier.Download{}
	if c.scratchDir != "" {
		if err := os.RemoveAll(c.scratchDir); err != nil {
			errs = append(errs, err)
		}
		c.scratchDir = ""
	}
	if c.tmp != "" {
		if err := os.RemoveAll(c.tmp); err != nil {
			errs = append(errs, err)
		}
		c.tmp = ""
	}
	return errors.Join(errs...)
}

// Dockerfile returns the Dockerfile called name: a path relative to the
// context (resolved inside it; "" means "Dockerfile"), or an absolute
// path as `docker build -f` accepts, which may lie outside the context.
// If name.dockerignore exists next to it in the context it replaces
// .dockerignore, as BuildKit does. A Dockerfile given on stdin with no
// context is returned whatever the name.
func (c *Context) Dockerfile(name string) ([]byte, error) {
	if c.stdinDockerfile != nil {
		return c.stdinDockerfile, nil
	}
	if name == "" {
		name = "Dockerfile"
	}
	var p string
	inside := true
	if filepath.IsAbs(name) {
		rel, err := filepath.Rel(c.dir, name)
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			p, inside = name, false
		} else {
			name = rel
		}
	}
	if inside {
		rel, escaped, err := copier.Resolve(c.dir, name)
		if err != nil {
			return nil, fmt.Errorf("unable to read Dockerfile %s in the build context: %w", name, err)
		}
		if escaped {
			return nil, fmt.Errorf("unable to read Dockerfile %s: it leads outside the build context", name)
		}
		p = filepath.Join(c.dir, rel)
		ig := filepath.ToSlash(filepath.Clean(name)) + ".dockerignore"
		if _, err := os.Stat(filepath.Join(c.dir, ig)); err == nil {
			if err := c.loadIgnore(ig); err != nil {
				return nil, err
			}
		}
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("unable to read Dockerfile: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("unable to read Dockerfile %s: not a regular file", name)
	}
	if fi.Size() > maxDockerfile {
		return nil, fmt.Errorf("unable to read Dockerfile %s: larger than %d bytes", name, maxDockerfile)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("unable to read Dockerfile: %w", err)
	}
	return b, nil
}

// maxDockerfile bounds a Dockerfile's size; BuildKit refuses files over
// a few MiB too.
const maxDockerfile = 16 << 20
