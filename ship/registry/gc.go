package registry

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/distribution/distribution/v3/registry/storage"
	"github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
)

// errNotEnumerable reports a storage that cannot list its content.
var errNotEnumerable = errors.New("registry storage cannot be enumerated")

// GCOptions configure a garbage collection.
type GCOptions struct {
	// DryRun reports what would be deleted and deletes nothing.
	DryRun bool
	// DeleteUntagged also deletes manifests no tag points to (and so
	// their blobs).
	DeleteUntagged bool
	// Verbose prints distribution's mark and sweep listing to stdout.
	Verbose bool
}

// GCResult says what a garbage collection found.
type GCResult struct {
	// BlobsBefore and BlobsAfter count the blobs in the store; BytesFreed
	// is the size of those removed (0 in a dry run).
	BlobsBefore, BlobsAfter int
	BytesFreed              int64
}

// GC deletes the blobs of root that no manifest references (distribution's
// mark and sweep). It refuses to run while a server or another gc holds
// the root.
func GC(ctx context.Context, root string, opts GCOptions) (GCResult, error) {
	var res GCResult
	if _, err := os.Stat(root); err != nil {
		return res, fmt.Errorf("registry gc: %w", err)
	}
	lock, err := lockRoot(root)
	if err != nil {
		return res, fmt.Errorf("registry gc: %w", err)
	}
	defer lock.Close()
	before, size, err := countBlobs(root)
	if err != nil {
		return res, err
	}
	res.BlobsBefore = before
	// A root nothing was ever pushed to lacks the directories distribution's
	// mark and sweep walks (it then finds nothing to do).
	for _, d := range []string{"repositories", "blobs"} {
		if err := os.MkdirAll(filepath.Join(root, "docker", "registry", "v2", d), 0o755); err != nil {
			return res, fmt.Errorf("registry gc: %w", err)
		}
	}
	driver := filesystem.New(filesystem.DriverParameters{RootDirectory: root, MaxThreads: 100})
	ns, err := storage.NewRegistry(ctx, driver, storage.EnableDelete)
	if err != nil {
		return res, fmt.Errorf("registry gc: storage: %w", err)
	}
	err = storage.MarkAndSweep(ctx, driver, gcNamespace{Namespace: ns, al: newAliases(root)}, storage.GCOpts{
		DryRun:         opts.DryRun,
		RemoveUntagged: opts.DeleteUntagged,
		Quiet:          !opts.Verbose && !opts.DryRun,
	})
	if err != nil {
		return res, fmt.Errorf("registry gc: %w", err)
	}
	after, sizeAfter, err := countBlobs(root)
	if err != nil {
		return res, err
	}
	res.BlobsAfter, res.BytesFreed = after, size-sizeAfter
	return res, nil
}

// countBlobs counts the blobs of the store and their total size.
func countBlobs(root string) (int, int64, error) {
	dir := filepath.Join(root, "docker", "registry", "v2", "blobs")
	n, size := 0, int64(0)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && d.Name() == "data" {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n++
			size += info.Size()
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("registry gc: count blobs: %w", err)
	}
	return n, size, nil
}
