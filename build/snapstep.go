package build

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"

	"berth/image"
	"berth/layer"
	"berth/snapshot"
)

// emptyTarDiffID is the DiffID of a tar without entries: a step that
// changed no file, recorded as an empty layer (as Docker does).
const emptyTarDiffID = digest.Digest("sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef")

// snapPrefix starts the keys of the snapshots build steps write into,
// and runPrefix the names of their work directories under
// <root>/build/run; a build killed -9 leaves both, and the next build
// removes them (sweep).
const snapPrefix = "build-"

// stepLayer is the layer a file step made; Layer is nil when the step
// changed nothing.
type stepLayer struct {
	Layer  *ocispec.Descriptor
	DiffID digest.Digest
}

// workDir is a step's own directory under <root>/build/run, locked
// (flock) by the process that uses it, so that a sweep can tell a live
// step from one a killed build left.
type workDir struct {
	id   string
	dir  string
	lock *os.File
}

func (b *Builder) newWorkDir() (*workDir, error) {
	id := randomHex(8)
	dir := filepath.Join(b.runDir(), id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("build work directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		os.RemoveAll(dir)
		return nil, fmt.Errorf("build work directory %s: %w", dir, err)
	}
	return &workDir{id: id, dir: dir, lock: f}, nil
}

// remove deletes the directory, then lets go of its lock.
func (w *workDir) remove() error {
	err := os.RemoveAll(w.dir)
	w.lock.Close()
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// fsStep runs fn on a writable snapshot of st's files, mounted at rootfs
// (fn also gets the step's work directory), and stores what fn changed
// as a layer. The snapshot is then committed under the new chain ID, so
// the next step starts from it without unpacking anything. On failure
// nothing is left: no mount, no snapshot, no directory.
func (b *Builder) fsStep(ctx context.Context, st *state, fn func(rootfs, work string) error) (res stepLayer, err error) {
	parent := st.topChain()
	if err := b.ensureUnpacked(ctx, st); err != nil {
		return res, err
	}
	if b.BeforeFirstStep != nil {
		b.firstStep.Do(b.BeforeFirstStep)
	}
	w, err := b.newWorkDir()
	if err != nil {
		return res, err
	}
	snaps, _ := b.images.Snapshots()
	key := snapPrefix + w.id
	committed := false
	defer func() {
		cctx := context.WithoutCancel(ctx)
		if !committed {
			if rerr := snaps.Remove(cctx, key); rerr != nil && !errors.Is(rerr, snapshot.ErrNotFound) {
				err = errors.Join(err, fmt.Errorf("remove build snapshot %s: %w", key, rerr))
			}
		}
		if rerr := w.remove(); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()
	mounts, err := snaps.Prepare(ctx, key, parent, snapshot.WithLabels(map[string]string{"berth.build": w.id}))
	if err != nil {
		return res, fmt.Errorf("prepare build snapshot: %w", err)
	}
	rootfs := filepath.Join(w.dir, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		return res, err
	}
	if err := snapshot.MountAll(mounts, rootfs); err != nil {
		return res, fmt.Errorf("mount build snapshot: %w", err)
	}
	ferr := fn(rootfs, w.dir)
	if uerr := snapshot.Unmount(rootfs); uerr != nil {
		return res, errors.Join(ferr, uerr)
	}
	if ferr != nil {
		return res, ferr
	}
	desc, diffID, err := b.writeDiff(ctx, mounts, parent)
	if err != nil {
		return res, err
	}
	if diffID == emptyTarDiffID {
		return res, nil
	}
	chain := image.ChainIDs(append(append([]digest.Digest{}, st.cfg.RootFS.DiffIDs...), diffID))
	name := chain[len(chain)-1].String()
	if err := snaps.Commit(ctx, name, key); err != nil && !errors.Is(err, snapshot.ErrExists) {
		return res, fmt.Errorf("commit build snapshot: %w", err)
	} else if err == nil {
		committed = true
	}
	return stepLayer{Layer: &desc, DiffID: diffID}, nil
}

// writeDiff stores the changes of the step's snapshot as a layer blob:
// an overlay's upper directory as it is, or a full copy compared with its
// parent's tree.
func (b *Builder) writeDiff(ctx context.Context, mounts []snapshot.Mount, parent string) (ocispec.Descriptor, digest.Digest, error) {
	if len(mounts) != 1 {
		return ocispec.Descriptor{}, "", fmt.Errorf("build snapshot has %d mounts, want one", len(mounts))
	}
	m := mounts[0]
	var diff func(w io.Writer) error
	switch {
	case m.Type == "overlay" && m.UpperDir() != "":
		diff = func(w io.Writer) error { return layer.Diff(ctx, w, m.UpperDir(), layer.DiffOptions{}) }
	case m.Type == "bind":
		diff = func(w io.Writer) error {
			return b.withTree(ctx, parent, func(lower string) error {
				return layer.DiffDirs(ctx, w, lower, m.Source, layer.DiffOptions{})
			})
		}
	default:
		return ocispec.Descriptor{}, "", fmt.Errorf("cannot find the changes of a %q mount", m.Type)
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := diff(pw)
		pw.CloseWithError(err)
		done <- err
	}()
	desc, diffID, err := b.images.WriteLayer(ctx, pr)
	if err != nil {
		pr.CloseWithError(err)
	}
	if derr := <-done; derr != nil {
		return ocispec.Descriptor{}, "", fmt.Errorf("diff the build step: %w", derr)
	}
	if err != nil {
		return ocispec.Descriptor{}, "", err
	}
	return desc, diffID, nil
}

// withTree calls fn with the files of the committed snapshot name
// mounted read-only ("" gives an empty directory). The mount lives in a
// locked work directory and the view is named like a step's snapshot,
// so that another build's sweep leaves it alone while it is used, and
// removes both after a kill -9.
func (b *Builder) withTree(ctx context.Context, name string, fn func(dir string) error) (err error) {
	w, err := b.newWorkDir()
	if err != nil {
		return err
	}
	mounted := false
	defer func() {
		if mounted {
			// Never remove files through a mount that is still there:
			// leave it, locked no more, to the next sweep.
			w.lock.Close()
			return
		}
		if rerr := w.remove(); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()
	dir := filepath.Join(w.dir, treeDir)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("build work directory: %w", err)
	}
	if name == "" {
		return fn(dir)
	}
	snaps, _ := b.images.Snapshots()
	vkey := snapPrefix + w.id
	mounts, err := snaps.View(ctx, vkey, name)
	if err != nil {
		return fmt.Errorf("view %s: %w", name, err)
	}
	defer func() {
		if rerr := snaps.Remove(context.WithoutCancel(ctx), vkey); rerr != nil {
			err = errors.Join(err, fmt.Errorf("remove view of %s: %w", name, rerr))
		}
	}()
	if err := mountRO(mounts, dir); err != nil {
		return err
	}
	mounted = true
	defer func() {
		if uerr := snapshot.Unmount(dir); uerr != nil {
			err = errors.Join(err, uerr)
			return
		}
		mounted = false
	}()
	return fn(dir)
}

// treeDir is where withTree mounts a view, in its work directory.
const treeDir = "tree"

// mountRO mounts a view's mounts at dir. An overlay view of a single
// layer comes back as an overlay with one lowerdir, which overlayfs
// refuses: that one is bound read-only instead.
func mountRO(mounts []snapshot.Mount, dir string) error {
	if len(mounts) == 1 && mounts[0].Type == "overlay" && mounts[0].UpperDir() == "" {
		if lowers := mounts[0].LowerDirs(); len(lowers) == 1 {
			mounts = []snapshot.Mount{{Type: "bind", Source: lowers[0], Options: []string{"rbind", "ro"}}}
		}
	}
	if err := snapshot.MountAll(mounts, dir); err != nil {
		return fmt.Errorf("mount read-only view: %w", err)
	}
	return nil
}

// ensureUnpacked makes sure the snapshot of st's top layer exists: a
// cached step may name layers whose snapshot a prune removed while their
// blobs stayed. It then unpacks them from the blobs.
func (b *Builder) ensureUnpacked(ctx context.Context, st *state) error {
	top := st.topChain()
	if top == "" {
		return nil
	}
	snaps, _ := b.images.Snapshots()
	if _, err := snaps.Stat(ctx, top); err == nil {
		return nil
	} else if !errors.Is(err, snapshot.ErrNotFound) {
		return err
	}
	desc, err := b.writeImage(ctx, st)
	if err != nil {
		return err
	}
	if _, err := b.images.Unpack(ctx, image.Image{Target: desc}); err != nil {
		return fmt.Errorf("unpack build layers: %w", err)
	}
	return nil
}
