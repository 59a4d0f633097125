package content

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	digest "github.com/opencontainers/go-digest"
)

// Sweep removes every committed blob for which live returns false, and
// returns what it removed. It runs under the store lock taken
// exclusively, so it waits (until ctx ends) for every Hold in every
// process: a blob written, or found present, by an operation that has not
// yet recorded its reference is never swept. Partial writes under ingest/
// are not touched. live must not call Hold, and the caller must not hold
// one itself: Sweep would wait for it.
func (s *Store) Sweep(ctx context.Context, live func(digest.Digest) bool) ([]Info, error) {
	release, err := s.Exclusive(ctx)
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	defer release()
	return s.SweepLocked(ctx, live)
}

// SweepLocked is Sweep for a caller that holds Exclusive.
func (s *Store) SweepLocked(ctx context.Context, live func(digest.Digest) bool) ([]Info, error) {
	var removed []Info
	dirs := map[string]bool{}
	err := s.Walk(ctx, func(i Info) error {
		if live(i.Digest) {
			return nil
		}
		p, err := s.blobPath(i.Digest)
		if err != nil {
			return err
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove blob %s: %w", i.Digest, err)
		}
		dirs[filepath.Dir(p)] = true
		removed = append(removed, i)
		return nil
	})
	// Removals need not be durable to be correct (a blob that comes back
	// after a crash is swept again), but make them so for disk accounting.
	for d := range dirs {
		if serr := syncDir(d); err == nil {
			err = serr
		}
	}
	if err != nil {
		return removed, fmt.Errorf("sweep content store %s: %w", s.dir, err)
	}
	return removed, nil
}
