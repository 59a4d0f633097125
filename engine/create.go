package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"berth/engine/monitor"
	"berth/engine/ocispec"
)

// CreateOptions are what `berth create` and `run` ask for.
type CreateOptions struct {
	// Name is --name ("" for a generated one).
	Name string
	// Image names the image (a reference or an ID).
	Image string
	// Spec holds the container's options; ID, Image and Rootfs are filled
	// in by Create.
	Spec        ocispec.Options
	Restart     RestartPolicy
	AutoRemove  bool
	StopSignal  string
	StopTimeout *int
	// LogMaxSize and LogMaxFiles rotate the json-file log (defaults 10 MB,
	// 3 files).
	LogMaxSize  int64
	LogMaxFiles int
	// Runtime overrides the engine's OCI runtime for this container.
	Runtime string
	// Net is the container's networking (network.go); nil: loopback only.
	Net *NetConfig
	// StartAfter says Start follows (run): the container stays pending
	// until it has started, so that a run killed in between leaves none.
	StartAfter bool
}

// Create makes a container: its record, its rootfs (a snapshot of the
// image, mounted in its directory) and its config.json. On failure nothing
// is left.
func (e *Engine) Create(ctx context.Context, o CreateOptions) (_ *Container, err error) {
	// On a core of its own while this one waits for the disk.
	go ocispec.Warm()
	imgs, err := e.images.Resolve(ctx, o.Image)
	if err != nil {
		return nil, err
	}
	img := imgs[0]
	sum, err := e.images.Describe(ctx, img)
	if err != nil {
		return nil, err
	}
	if err := checkRestart(o.Restart, o.AutoRemove); err != nil {
		return nil, err
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	c := &Container{
		ID: id, Image: o.Image, ImageID: sum.ID.String(), Created: time.Now().UTC(),
		Runtime: firstNonEmpty(o.Runtime, e.runtime), Labels: o.Spec.Labels,
		Restart: o.Restart, AutoRemove: o.AutoRemove, StopSignal: firstNonEmpty(o.StopSignal, sum.Config.Config.StopSignal),
		StopTimeout: 10, TTY: o.Spec.TTY, OpenStdin: o.Spec.OpenStdin,
		LogMaxSize: o.LogMaxSize, LogMaxFiles: o.LogMaxFiles,
		State:       State{Status: StatusCreated},
		Pending:     self(),
		Net:         o.Net,
		RuntimeRoot: filepath.Join(e.runRoot, "runtime"),
		RunDir:      filepath.Join(e.runRoot, "containers", id),
	}
	_, c.Snapshotter = e.images.Snapshots()
	if o.StopTimeout != nil {
		c.StopTimeout = *o.StopTimeout
	}
	if c.LogMaxSize == 0 {
		c.LogMaxSize = 10 << 20
	}
	if c.LogMaxFiles == 0 {
		c.LogMaxFiles = 3
	}
	if c.Restart.Name == "" {
		c.Restart.Name = "no"
	}
	netns, err := e.createNetwork(id, c.Net, sum.Config.Config.ExposedPorts)
	if err != nil {
		return nil, err
	}
	netNS := o.Spec.NetNS
	if o.Net != nil {
		netNS = netns
	}
	var mon *monitorProc
	if o.StartAfter && !o.Spec.TTY {
		// run: the monitor starts now, and the runtime with it (and the
		// container's init); the runtime then waits for Start's
		// go-ahead while the record, the rootfs and the config are made.
		// Until the record is made (Recorded) the monitor makes nothing.
		// A terminal's monitor creates the container first, and starts
		// with Start.
		cfg := e.monitorConfig(c)
		cfg.WaitRecord = true
		// With a network namespace of its own (not one to join), the
		// container has the runtime's default namespaces: its init can
		// start meanwhile too.
		cfg.EarlyInit = cfg.Prestart && (netNS == "" || netNS == "none")
		if mon, err = e.launchMonitor(cfg); err != nil {
			return nil, err
		}
		// Ended on any error, before the record's cleanup below (which
		// comes first) or without it.
		defer func() {
			if err != nil {
				mon.abort()
			}
		}()
	}
	// The record first, name reserved: a berth killed from here on leaves
	// a container that ps shows and rm removes.
	if err := e.reserve(c, o.Name); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			// The monitor first: it no longer writes in what goes.
			if mon != nil {
				e.unsaved.monitor(c.ID)
				mon.abort()
			}
			ctx := context.WithoutCancel(ctx)
			if e.cleanup(ctx, c) == nil {
				e.removeAnonymousVolumes(ctx, c.Volumes)
			}
		}
	}()
	dir := e.dir(id)
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(rootfs, 0o700); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.RunDir, 0o700); err != nil {
		return nil, err
	}
	if mon != nil {
		if _, err := mon.sync.Write(monitor.Recorded(c.Name)); err != nil {
			return nil, fmt.Errorf("start the monitor: %w", err)
		}
		e.unsaved.putMonitor(c.ID, mon)
	}
	mounts, err := e.images.PrepareRootfsOf(ctx, id, img, sum)
	if err != nil {
		return nil, err
	}
	mounts, etcDir, err := withEtcLayer(c, mounts, ocispec.EtcFileNames(netNS == "host"))
	if err != nil {
		return nil, err
	}
	if etcDir == "" {
		etcDir = c.RunDir
	}
	if err := mountRootfs(mounts, rootfs, o.AutoRemove); err != nil {
		return nil, fmt.Errorf("mount the rootfs: %w", err)
	}
	so := o.Spec
	so.ID, so.Image, so.Rootfs = id, sum.Config.Config, rootfs
	so.ContainerDir = dir
	so.EtcDir = etcDir
	so.NetNS = netNS
	so.Volume = e.volumeFor(ctx, c, rootfs)
	if so.Init && so.InitPath == "" {
		so.InitPath = filepath.Join(filepath.Dir(e.monitor), "berth-init")
	}
	spec, err := ocispec.Build(so)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		return nil, err
	}
	if spec.Process != nil && len(spec.Process.Args) > 0 {
		c.Path, c.Args = spec.Process.Args[0], spec.Process.Args[1:]
	}
	// Not the files berth made (in the container's directories).
	made := func(src string) bool {
		return strings.HasPrefix(src, dir+"/") || (c.RunDir != "" && strings.HasPrefix(src, c.RunDir+"/"))
	}
	for _, m := range spec.Mounts {
		if m.Type == "bind" && !made(m.Source) {
			c.Mounts = append(c.Mounts, MountPoint{Type: "bind", Source: m.Source, Destination: m.Destination, RW: !hasOpt(m.Options, "ro")})
		}
	}
	if !o.StartAfter {
		c.Pending = nil
	}
	if o.StartAfter {
		// run: Start records these with its own change (see unsaved).
		e.unsaved.put(c)
	} else {
		// Only the fields Create fills in now: the record is visible since
		// reserve, and a rename may have changed it.
		cur, err := e.modify(c.ID, func(r *Container) error {
			r.Path, r.Args, r.Mounts, r.Pending = c.Path, c.Args, c.Mounts, c.Pending
			return nil
		})
		if err != nil {
			return nil, err
		}
		c.Name = cur.Name
	}
	e.Emit(c, "create", nil)
	return c, nil
}

func hasOpt(opts []string, o string) bool {
	for _, x := range opts {
		if x == o {
			return true
		}
	}
	return false
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// checkRestart validates --restart, as Docker: --rm excludes a policy.
func checkRestart(r RestartPolicy, autoRemove bool) error {
	switch r.Name {
	case "", "no":
	case "always", "unless-stopped":
		if r.MaximumRetryCount != 0 {
			return fmt.Errorf("invalid restart policy: maximum retry count cannot be used with restart policy '%s'", r.Name)
		}
	case "on-failure":
		if r.MaximumRetryCount < 0 {
			return errors.New("invalid restart policy: maximum retry count cannot be negative")
		}
	default:
		return fmt.Errorf("invalid restart policy '%s'", r.Name)
	}
	if autoRemove && r.Name != "" && r.Name != "no" {
		return errors.New("conflicting options: cannot specify both --restart and --rm")
	}
	return nil
}

// reserve records c under name (or a generated one).
func (e *Engine) reserve(c *Container, name string) error {
	if name != "" && !validName.MatchString(name) {
		return fmt.Errorf("invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name)
	}
	name = strings.TrimPrefix(name, "/")
	return e.meta.update(func(tx *bolt.Tx) error {
		names := tx.Bucket(bucketNames)
		if name == "" {
			for try := 0; ; try++ {
				if n := randomName(try); names.Get([]byte(n)) == nil {
					name = n
					break
				}
			}
		} else if other := names.Get([]byte(name)); other != nil {
			return fmt.Errorf("the container name \"/%s\" is already in use by container %q: %w", name, other, ErrNameInUse)
		}
		c.Name = name
		if err := names.Put([]byte(name), []byte(c.ID)); err != nil {
			return err
		}
		return putContainer(tx, c)
	})
}
