package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"

	"berth/snapshot/native"
)

// ErrVolumeInUse says a container uses the volume.
var ErrVolumeInUse = errors.New("volume is in use")

// Volume is a named volume: a directory under <root>/volumes/<name>/_data
// that containers mount, kept when they go.
type Volume struct {
	Name       string            `json:"Name"`
	Driver     string            `json:"Driver"`
	Mountpoint string            `json:"Mountpoint"`
	CreatedAt  time.Time         `json:"CreatedAt"`
	Labels     map[string]string `json:"Labels"`
	Scope      string            `json:"Scope"`
	// Anonymous volumes were made for a container without a name given;
	// rm -v and --rm remove them with it.
	Anonymous bool `json:"Anonymous,omitempty"`
}

func (e *Engine) volumesDir() string { return filepath.Join(e.root, "volumes") }

// VolumeCreate makes a volume ("" for an anonymous one with a generated
// name); an existing one is returned as it is, as Docker does.
func (e *Engine) VolumeCreate(ctx context.Context, name string, labels map[string]string) (Volume, error) {
	anonymous := name == ""
	if anonymous {
		id, err := newID()
		if err != nil {
			return Volume{}, err
		}
		name = id
	}
	return e.volumeCreate(ctx, name, labels, anonymous)
}

// volumeCreate makes the volume name (or returns the existing one).
func (e *Engine) volumeCreate(ctx context.Context, name string, labels map[string]string, anonymous bool) (Volume, error) {
	if !validName.MatchString(name) || name[0] == '/' {
		return Volume{}, fmt.Errorf("volume name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name)
	}
	if v, err := e.VolumeInspect(ctx, name); err == nil {
		return v, nil
	}
	dir := filepath.Join(e.volumesDir(), name)
	v := Volume{Name: name, Driver: "local", Mountpoint: filepath.Join(dir, "_data"), CreatedAt: time.Now().UTC(),
		Labels: labels, Scope: "local", Anonymous: anonymous}
	if v.Labels == nil {
		v.Labels = map[string]string{}
	}
	// Built beside and renamed into place: a volume is there whole or not.
	tmp, err := os.MkdirTemp(e.volumesDirMust(), ".new-")
	if err != nil {
		return Volume{}, err
	}
	if err := os.Mkdir(filepath.Join(tmp, "_data"), 0o755); err != nil {
		os.RemoveAll(tmp)
		return Volume{}, err
	}
	b, _ := json.Marshal(v)
	if err := os.WriteFile(filepath.Join(tmp, "volume.json"), b, 0o600); err != nil {
		os.RemoveAll(tmp)
		return Volume{}, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if errors.Is(err, os.ErrExist) || errors.Is(err, unix.ENOTEMPTY) {
			return e.VolumeInspect(ctx, name) // made by another command meanwhile
		}
		return Volume{}, err
	}
	e.EmitVolume(name, "create", nil)
	return v, nil
}

func (e *Engine) volumesDirMust() string {
	_ = os.MkdirAll(e.volumesDir(), 0o700)
	return e.volumesDir()
}

// VolumeInspect returns a volume.
func (e *Engine) VolumeInspect(ctx context.Context, name string) (Volume, error) {
	var v Volume
	if !validName.MatchString(name) {
		return v, fmt.Errorf("no such volume: %s", name)
	}
	b, err := os.ReadFile(filepath.Join(e.volumesDir(), name, "volume.json"))
	if err != nil {
		return v, fmt.Errorf("no such volume: %s", name)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("volume %s: %w", name, err)
	}
	return v, nil
}

// VolumeList returns every volume, by name.
func (e *Engine) VolumeList(ctx context.Context) ([]Volume, error) {
	ents, err := os.ReadDir(e.volumesDir())
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	var out []Volume
	for _, ent := range ents {
		if v, err := e.VolumeInspect(ctx, ent.Name()); err == nil {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// volumeUsers lists the containers whose records name each volume,
// pending ones (a create under way) included, but not those whose maker
// died: they never existed for the user, and the next command that meets
// them removes them. The caller holds the volumes lock.
func (e *Engine) volumeUsers() (map[string][]string, error) {
	users := map[string][]string{}
	err := e.meta.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketContainers).ForEach(func(k, _ []byte) error {
			c, err := getContainer(tx, string(k))
			if err != nil {
				return err
			}
			if c.Pending != nil && !c.Pending.alive() {
				return nil
			}
			for _, v := range c.Volumes {
				users[v] = append(users[v], c.Name)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("volume users: %w", err)
	}
	return users, nil
}

// dropAbandoned removes the containers whose create was killed (List
// does), before the volumes lock is taken: their volumes are then free.
// Not for VolumeRemove, which Remove and abandoned call holding a
// container's lock.
func (e *Engine) dropAbandoned(ctx context.Context) { _, _ = e.List(ctx) }

// lockVolumes serialises the commands that decide a volume is unused
// (volume rm, prune) with those that give it a user (create): between a
// prune's look at the users and its removal no create may claim the
// volume.
func (e *Engine) lockVolumes() (func(), error) {
	path := filepath.Join(e.root, "volumes.lock")
	fd, err := unix.Open(path, unix.O_CREAT|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock volumes: %w", err)
	}
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("lock volumes: %w", err)
	}
	return func() { unix.Close(fd) }, nil
}

// VolumeRemove removes a volume and its data; one a container uses is
// refused, whether or not it runs (force only hides a missing volume).
func (e *Engine) VolumeRemove(ctx context.Context, name string, force bool) error {
	unlock, err := e.lockVolumes()
	if err != nil {
		return err
	}
	defer unlock()
	return e.removeVolume(ctx, name, force)
}

// removeVolume is VolumeRemove under the volumes lock.
func (e *Engine) removeVolume(ctx context.Context, name string, force bool) error {
	if _, err := e.VolumeInspect(ctx, name); err != nil {
		if force {
			return nil
		}
		return err
	}
	users, err := e.volumeUsers()
	if err != nil {
		return err
	}
	if u := users[name]; len(u) > 0 {
		return fmt.Errorf("remove %s: %w: used by container %s", name, ErrVolumeInUse, u[0])
	}
	// Renamed out of the way first, so a half-removed volume is not seen;
	// a unique name, so one a killed rm left never blocks the next.
	dir := filepath.Join(e.volumesDir(), name)
	suffix, err := newID()
	if err != nil {
		return err
	}
	gone := filepath.Join(e.volumesDir(), ".rm-"+suffix[:16])
	if err := os.Rename(dir, gone); err != nil {
		return err
	}
	e.EmitVolume(name, "destroy", nil)
	return os.RemoveAll(gone)
}

// VolumePrune removes the volumes no container uses: anonymous ones, or
// all with all (Docker's volume prune -a), and of those only the ones
// match accepts (nil: all). It returns their names and the bytes their
// data took.
func (e *Engine) VolumePrune(ctx context.Context, all bool, match func(Volume) bool) ([]string, int64, error) {
	e.dropAbandoned(ctx)
	unlock, err := e.lockVolumes()
	if err != nil {
		return nil, 0, err
	}
	defer unlock()
	vols, err := e.VolumeList(ctx)
	if err != nil {
		return nil, 0, err
	}
	users, err := e.volumeUsers()
	if err != nil {
		return nil, 0, err
	}
	var removed []string
	var reclaimed int64
	for _, v := range vols {
		if len(users[v.Name]) > 0 || !all && !v.Anonymous || match != nil && !match(v) {
			continue
		}
		size := dirSize(v.Mountpoint)
		if err := e.removeVolume(ctx, v.Name, false); err != nil {
			return removed, reclaimed, err
		}
		removed = append(removed, v.Name)
		reclaimed += size
	}
	e.EmitPrune("volume", reclaimed)
	return removed, reclaimed, nil
}

// dirSize is the size of the files under dir (links not followed, each
// inode counted once, as Docker's volume sizes), for prune's report.
func dirSize(dir string) int64 {
	var n int64
	seen := map[uint64]bool{}
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		var st unix.Stat_t
		if unix.Lstat(p, &st) != nil || seen[st.Ino] {
			return nil
		}
		seen[st.Ino] = true
		n += st.Size
		return nil
	})
	return n
}

// volumeFor is the hook engine/ocispec calls for each volume mount of a
// new container: it records the volume on c's (pending) record, then
// makes it if needed, and fills an empty one from the image's content at
// dest (as Docker does). Recorded first, under the volumes lock, so that
// a prune never removes it and a failed or killed create finds it to
// remove (an anonymous one).
func (e *Engine) volumeFor(ctx context.Context, c *Container, rootfs string) func(name, dest string) (string, error) {
	return func(name, dest string) (string, error) {
		anonymous := name == ""
		if anonymous {
			id, err := newID()
			if err != nil {
				return "", err
			}
			name = id
		}
		if !validName.MatchString(name) || name[0] == '/' {
			return "", fmt.Errorf("volume name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name)
		}
		unlock, err := e.lockVolumes()
		if err != nil {
			return "", err
		}
		_, err = e.modify(c.ID, func(r *Container) error {
			r.Volumes = append(r.Volumes, name)
			return nil
		})
		if err != nil {
			unlock()
			return "", err
		}
		c.Volumes = append(c.Volumes, name)
		v, err := e.volumeCreate(ctx, name, nil, anonymous)
		unlock()
		if err != nil {
			return "", err
		}
		if err := populate(ctx, v.Mountpoint, rootfs, dest); err != nil {
			return "", fmt.Errorf("fill volume %s from the image: %w", v.Name, err)
		}
		return v.Mountpoint, nil
	}
}

// populate copies the image's directory at dest into an empty volume.
// dest is resolved inside the rootfs (an image's symlink there cannot lead
// the copy out of it); the copy itself never follows links.
func populate(ctx context.Context, data, rootfs, dest string) error {
	ents, err := os.ReadDir(data)
	if err != nil || len(ents) > 0 {
		return err
	}
	src, err := securejoin.SecureJoin(rootfs, dest)
	if err != nil {
		return err
	}
	st, err := os.Lstat(src)
	if err != nil || !st.IsDir() {
		return nil // nothing there to copy
	}
	return native.CopyTree(ctx, data, src)
}

// removeAnonymousVolumes removes the anonymous ones among names, for a
// container that never came to be (a failed or killed create); one
// another container uses stays.
func (e *Engine) removeAnonymousVolumes(ctx context.Context, names []string) {
	for _, name := range names {
		if v, err := e.VolumeInspect(ctx, name); err == nil && v.Anonymous {
			_ = e.VolumeRemove(ctx, name, true)
		}
	}
}
