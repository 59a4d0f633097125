package content

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// IngestStatus describes a partial write under ingest/.
type IngestStatus struct {
	Ref      string             // the writer's ref ("" if ingest.json is unreadable)
	Expected ocispec.Descriptor // what the writer expects
	Offset   int64              // bytes held
	Modified time.Time          // last write
	Active   bool               // a writer holds it now
}

// Ingests lists the partial writes: those of live writers (Active) and
// those kept by Close or left by a killed process, which a Writer of the
// same ref resumes.
func (s *Store) Ingests(ctx context.Context) ([]IngestStatus, error) {
	root := filepath.Join(s.dir, ingestDir)
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("list ingests: %w", err)
	}
	var out []IngestStatus
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !isIngestName(e.Name()) || !e.IsDir() {
			continue
		}
		st, err := ingestStatus(filepath.Join(root, e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue // committed or aborted since the listing
		}
		if err != nil {
			return nil, fmt.Errorf("list ingests: %w", err)
		}
		out = append(out, st)
	}
	return out, nil
}

// ingestStatus describes the ingest directory dir.
func ingestStatus(dir string) (IngestStatus, error) {
	var st IngestStatus
	d, err := os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return st, err
	}
	defer d.Close()
	// A shared probe conflicts with a writer's LOCK_EX only, so two
	// listings never see each other as writers.
	free, err := tryLock(d, unix.LOCK_SH)
	if err != nil {
		return st, err
	}
	st.Active = !free
	if info, err := readIngestInfo(dir); err == nil {
		st.Ref, st.Expected = info.Ref, info.Expected
	}
	fi, err := os.Lstat(filepath.Join(dir, ingestData))
	switch {
	case err == nil:
		st.Offset, st.Modified = fi.Size(), fi.ModTime()
	case errors.Is(err, fs.ErrNotExist):
		if di, err := d.Stat(); err == nil {
			st.Modified = di.ModTime()
		}
	default:
		return st, err
	}
	return st, nil
}

// isIngestName reports whether name is one ingestName makes: 64 hex digits.
func isIngestName(name string) bool {
	if len(name) != 64 {
		return false
	}
	for _, c := range name {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
