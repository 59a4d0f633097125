package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	bolt "go.etcd.io/bbolt"

	"berth/image"
)

// ErrNotFound says no container has the name or ID given.
var ErrNotFound = errors.New("no such container")

// ErrNameInUse says a name belongs to another container.
var ErrNameInUse = errors.New("name already in use")

// Options configure Open.
type Options struct {
	// Runtime is the default OCI runtime binary (berth-runtime beside the
	// berth binary when empty).
	Runtime string
	// Monitor is the berth-monitor binary (beside the berth binary when
	// empty).
	Monitor string
	// Snapshotter is passed to the image store.
	Snapshotter string
	// Self is the berth binary, for the monitor's --rm exit command.
	Self string
	// RunRoot is where volatile state goes (DefaultRunRoot when empty):
	// the runtime's state of running containers, which a reboot ends.
	RunRoot string
}

// DefaultRunRoot is the default Options.RunRoot: a tmpfs, as runc's
// /run/runc and Podman's runroot, since nothing there outlives a reboot,
// and creating and removing the runtime's files on a disk costs a
// container start a few milliseconds.
const DefaultRunRoot = "/run/berth"

// Engine manages the containers under one root.
type Engine struct {
	root    string
	images  *image.Store
	meta    meta
	runtime string
	monitor string
	self    string
	runRoot string
	// unsaved is what Create left for Start to record (run).
	unsaved unsaved
	// removers are the containers this process removes itself once they
	// exit (a foreground run --rm; selfremove.go).
	removers removers
}

// Open opens the engine (and its image store) under root.
func Open(ctx context.Context, root string, o Options) (*Engine, error) {
	images, err := image.Open(ctx, root, image.Options{Snapshotter: o.Snapshotter})
	if err != nil {
		return nil, err
	}
	exe, _ := os.Executable()
	e := &Engine{root: root, images: images, meta: newMeta(filepath.Join(root, "containers.db")),
		runtime: o.Runtime, monitor: o.Monitor, self: o.Self, runRoot: o.RunRoot}
	if e.runRoot == "" {
		e.runRoot = DefaultRunRoot
	}
	if e.self == "" {
		e.self = exe
	}
	if e.runtime == "" {
		e.runtime = filepath.Join(filepath.Dir(exe), "berth-runtime")
	}
	if e.monitor == "" {
		e.monitor = filepath.Join(filepath.Dir(exe), "berth-monitor")
	}
	if err := os.MkdirAll(filepath.Join(root, "containers"), 0o711); err != nil {
		images.Close()
		return nil, err
	}
	return e, nil
}

// Close releases the image store.
func (e *Engine) Close() error { return e.images.Close() }

// Images is the image store.
func (e *Engine) Images() *image.Store { return e.images }

// dir is a container's directory.
func (e *Engine) dir(id string) string { return filepath.Join(e.root, "containers", id) }

// runtimeRoot is the runtime's --root for c: the one recorded when it was
// created, so that every later command finds its state whatever its own
// --runroot; <root>/runtime for a container an older berth made.
func (e *Engine) runtimeRoot(c *Container) string {
	if c.RuntimeRoot != "" {
		return c.RuntimeRoot
	}
	return filepath.Join(e.root, "runtime")
}

// runDir is the directory of c's volatile files (Container.RunDir): the
// container directory for a record of an older berth.
func (e *Engine) runDir(c *Container) string {
	if c.RunDir != "" {
		return c.RunDir
	}
	return e.dir(c.ID)
}

// selfCommand is the start of a command line that runs berth on this
// engine's root (the monitor's exit commands, the DNS server).
func (e *Engine) selfCommand() []string {
	return []string{e.self, "--root", e.root, "--runroot", e.runRoot}
}

// Lookup finds a container by full ID, unique ID prefix or name.
func (e *Engine) Lookup(ctx context.Context, ref string) (*Container, error) {
	var found *Container
	err := e.meta.view(func(tx *bolt.Tx) error {
		if c, err := getContainer(tx, ref); err == nil {
			found = c
			return nil
		}
		if id := tx.Bucket(bucketNames).Get([]byte(strings.TrimPrefix(ref, "/"))); id != nil {
			c, err := getContainer(tx, string(id))
			found = c
			return err
		}
		if len(ref) < 1 {
			return nil
		}
		var matches []string
		cur := tx.Bucket(bucketContainers).Cursor()
		for k, _ := cur.Seek([]byte(ref)); k != nil && strings.HasPrefix(string(k), ref); k, _ = cur.Next() {
			matches = append(matches, string(k))
		}
		if len(matches) > 1 {
			return fmt.Errorf("multiple IDs found with provided prefix: %s", ref)
		}
		if len(matches) == 1 {
			c, err := getContainer(tx, matches[0])
			found = c
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if found == nil || e.abandoned(ctx, found) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
	}
	e.refresh(found)
	return found, nil
}

// List returns every container, newest first, with its state refreshed.
func (e *Engine) List(ctx context.Context) ([]*Container, error) {
	var out []*Container
	err := e.meta.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketContainers).ForEach(func(k, _ []byte) error {
			c, err := getContainer(tx, string(k))
			if err != nil {
				return err
			}
			out = append(out, c)
			return nil
		})
	})
	kept := out[:0]
	for _, c := range out {
		if e.abandoned(ctx, c) {
			continue
		}
		e.refresh(c)
		kept = append(kept, c)
	}
	out = kept
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, err
}

// abandoned removes a container whose maker (a create, or a run before
// its start) died midway, and says so: such a container never existed
// for the user.
func (e *Engine) abandoned(ctx context.Context, c *Container) bool {
	if c.Pending == nil || c.Pending.alive() {
		return false
	}
	unlock, err := e.lock(c.ID)
	if err != nil {
		return false
	}
	defer unlock()
	// Re-read under the lock: a start may have finished meanwhile.
	var cur *Container
	_ = e.meta.view(func(tx *bolt.Tx) error {
		cur, _ = getContainer(tx, c.ID)
		return nil
	})
	if cur == nil {
		return true
	}
	if cur.Pending == nil || cur.Pending.alive() {
		*c = *cur
		return false
	}
	if err := e.cleanup(ctx, cur); err != nil {
		return false
	}
	e.removeAnonymousVolumes(ctx, cur.Volumes)
	return true
}
