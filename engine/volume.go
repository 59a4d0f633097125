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

// volumeUsers lists the containers that mount each volume.
func (e *Engine) volumeUsers(ctx context.Context) (map[string][]string, error) {
	list, err := e.List(ctx)
	if err != nil {
		return nil, err
	}
	users := map[string][]string{}
	for _, c := range list {
		for _, v := range c.Volumes {
			users[v] = append(users[v], c.Name)
		}
	}
	return users, nil
}

// VolumeRemove removes a volume and its data; one a container uses is
// refused, whether or not it runs (force only hides a missing volume).
func (e *Engine) VolumeRemove(ctx context.Context, name string, force bool) error {
	if _, err := e.VolumeInspect(ctx, name); err != nil {
		if force {
			return nil
		}
		return err
	}
	users, err := e.volumeUsers(ctx)
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
	return os.RemoveAll(gone)
}

// VolumePrune removes the volumes no container uses: anonymous ones, or
// all with all (Docker's volume prune -a).
func (e *Engine) VolumePrune(ctx context.Context, all bool) ([]string, error) {
	vols, err := e.VolumeList(ctx)
	if err != nil {
		return nil, err
	}
	users, err := e.volumeUsers(ctx)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, v := range vols {
		if len(users[v.Name]) > 0 || !all && !v.Anonymous {
			continue
		}
		if err := e.VolumeRemove(ctx, v.Name, false); err != nil {
			return removed, err
		}
		removed = append(removed, v.Name)
	}
	return removed, nil
}

// volumeFor is the hook engine/ocispec calls for each volume mount of a
// new container: it makes the volume if needed, fills an empty one from
// the image's content at dest (as Docker does), and records it on c.
func (e *Engine) volumeFor(ctx context.Context, c *Container, rootfs string) func(name, dest string) (string, error) {
	return func(name, dest string) (string, error) {
		v, err := e.VolumeCreate(ctx, name, nil)
		if err != nil {
			return "", err
		}
		c.Volumes = append(c.Volumes, v.Name)
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
