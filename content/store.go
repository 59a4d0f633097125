package content

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Names inside the store directory.
const (
	blobsDir   = "blobs"
	ingestDir  = "ingest"
	lockFile   = "lock"
	layoutFile = ocispec.ImageLayoutFile // "oci-layout"
	indexFile  = "index.json"
)

// Store is a content store rooted at one directory. It holds no open
// files: every method opens what it needs, so a Store may be shared by
// goroutines and needs no Close. Processes share a store through the
// directory and its file locks.
type Store struct {
	dir string
	log *slog.Logger
}

// Option configures a Store.
type Option func(*Store)

// WithLogger sets where the store logs what it cannot return as an error
// (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(s *Store) { s.log = l }
}

// logger is the store's logger.
func (s *Store) logger() *slog.Logger {
	if s.log == nil {
		return slog.Default()
	}
	return s.log
}

// Open opens the content store in dir, creating dir and the OCI layout
// (oci-layout, index.json, blobs/sha256/) plus ingest/ and lock when they
// are missing. An existing oci-layout of another version is an error.
func Open(dir string, opts ...Option) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("content store %s: %w", dir, err)
	}
	s := &Store{dir: abs}
	for _, o := range opts {
		o(s)
	}
	for _, d := range []string{abs, filepath.Join(abs, blobsDir), filepath.Join(abs, blobsDir, string(digest.SHA256)), filepath.Join(abs, ingestDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("content store %s: %w", abs, err)
		}
	}
	if err := s.ensureLayout(); err != nil {
		return nil, fmt.Errorf("content store %s: %w", abs, err)
	}
	lock, err := os.OpenFile(filepath.Join(abs, lockFile), os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("content store %s: %w", abs, err)
	}
	lock.Close()
	return s, nil
}

// Dir is the store's directory (absolute).
func (s *Store) Dir() string { return s.dir }

// ensureLayout writes oci-layout and index.json if missing, and refuses a
// layout version it does not know.
func (s *Store) ensureLayout() error {
	p := filepath.Join(s.dir, layoutFile)
	b, err := os.ReadFile(p)
	switch {
	case err == nil:
		if err := checkLayout(b); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	case errors.Is(err, fs.ErrNotExist):
		if err := writeFileAtomic(p, layoutJSON(), 0o644); err != nil {
			return err
		}
	default:
		return err
	}
	p = filepath.Join(s.dir, indexFile)
	if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
		return writeFileAtomic(p, emptyIndexJSON(), 0o644)
	} else if err != nil {
		return err
	}
	return nil
}

// checkLayout accepts the oci-layout file of the version the store writes.
func checkLayout(b []byte) error {
	var l ocispec.ImageLayout
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("parse oci-layout: %w", err)
	}
	if l.Version != ocispec.ImageLayoutVersion {
		return fmt.Errorf("image layout version %s not supported (want %s)", quote(l.Version), ocispec.ImageLayoutVersion)
	}
	return nil
}

func layoutJSON() []byte {
	b, _ := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	return b
}

func emptyIndexJSON() []byte {
	b, _ := json.Marshal(ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{},
	})
	return b
}
