package snapshot

import (
	"context"
	"errors"
	"time"
)

// Errors the snapshotters return, wrapped with the key concerned.
var (
	// ErrNotFound: no snapshot has that key.
	ErrNotFound = errors.New("snapshot not found")
	// ErrExists: a snapshot already has that key.
	ErrExists = errors.New("snapshot already exists")
	// ErrInUse: the snapshot is the parent of another one, or something
	// is mounted inside its directory.
	ErrInUse = errors.New("snapshot is in use")
	// ErrInvalid: a bad argument, such as an empty key, a parent that is
	// not committed, or committing a snapshot that is not active.
	ErrInvalid = errors.New("invalid snapshot argument")
	// ErrTooManyLayers: the chain is deeper than overlay can stack.
	ErrTooManyLayers = errors.New("too many layers")
)

// MaxLayers is how many lower layers overlayfs stacks at most
// (OVL_MAX_STACK in the kernel).
const MaxLayers = 500

// Kind is the state of a snapshot.
type Kind int

// The kinds of snapshot.
const (
	// KindActive is writable: a layer being unpacked or a container rootfs.
	KindActive Kind = iota + 1
	// KindView is a read-only view of a committed snapshot.
	KindView
	// KindCommitted is immutable and can be the parent of others.
	KindCommitted
)

// String returns "active", "view" or "committed".
func (k Kind) String() string {
	switch k {
	case KindActive:
		return "active"
	case KindView:
		return "view"
	case KindCommitted:
		return "committed"
	}
	return "unknown"
}

// Info describes a snapshot.
type Info struct {
	// Key names the snapshot (for committed image layers, the chain ID).
	Key string
	// Parent is the key of the committed snapshot below it, or "".
	Parent string
	// Kind is active, view or committed.
	Kind Kind
	// Created is when the snapshot was prepared.
	Created time.Time
	// Labels are the caller's key/value annotations.
	Labels map[string]string
}

// Usage is the disk space a snapshot itself takes: for overlay its own
// diff directory, for native its whole copy. Hard links count once.
type Usage struct {
	// Size is in bytes, counted by allocated blocks.
	Size int64
	// Inodes is the number of distinct inodes.
	Inodes int64
}

// Opt sets optional properties of a snapshot at Prepare, View or Commit.
type Opt func(*Info)

// WithLabels sets the snapshot's labels (a copy of the map is kept).
func WithLabels(labels map[string]string) Opt {
	return func(i *Info) {
		if len(labels) == 0 {
			return
		}
		if i.Labels == nil {
			i.Labels = make(map[string]string, len(labels))
		}
		for k, v := range labels {
			i.Labels[k] = v
		}
	}
}

// ApplyOpts returns the Info fields the options set.
func ApplyOpts(opts ...Opt) Info {
	var i Info
	for _, o := range opts {
		if o != nil {
			o(&i)
		}
	}
	return i
}

// Snapshotter stores snapshots and tells how to mount them. Its methods are
// safe for concurrent use.
type Snapshotter interface {
	// Stat returns the snapshot's Info.
	Stat(ctx context.Context, key string) (Info, error)
	// Prepare creates an active (writable) snapshot on top of the committed
	// snapshot parent ("" for none) and returns its mounts.
	Prepare(ctx context.Context, key, parent string, opts ...Opt) ([]Mount, error)
	// View creates a read-only snapshot of parent and returns its mounts.
	View(ctx context.Context, key, parent string, opts ...Opt) ([]Mount, error)
	// Mounts returns the mounts of an active or view snapshot again.
	Mounts(ctx context.Context, key string) ([]Mount, error)
	// Commit turns the active snapshot key into the committed snapshot
	// name; key no longer exists afterwards. Unmount it first: a
	// committed snapshot becomes a lower layer, and overlay must not use
	// a directory as lower while another mount writes to it.
	Commit(ctx context.Context, name, key string, opts ...Opt) error
	// Remove deletes a snapshot and its data. It refuses (ErrInUse) while
	// another snapshot has it as parent, or while something is mounted
	// inside its directory; unmounting the snapshot's own mounts first is
	// the caller's job.
	Remove(ctx context.Context, key string) error
	// Walk calls fn for every snapshot, in no particular order.
	Walk(ctx context.Context, fn func(Info) error) error
	// Usage returns the disk space the snapshot itself takes.
	Usage(ctx context.Context, key string) (Usage, error)
	// Cleanup removes data no snapshot refers to, such as what a process
	// killed in the middle of Prepare or Remove left behind.
	Cleanup(ctx context.Context) error
	// Close releases the metadata store. It is safe to call twice.
	Close() error
}
