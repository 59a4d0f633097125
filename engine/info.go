package engine

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"

	bolt "go.etcd.io/bbolt"

	"berth/engine/monitor"
)

// LogPath is the container's json-file log.
func (e *Engine) LogPath(id string) string { return filepath.Join(e.dir(id), monitor.LogFile) }

// Running tells whether the container runs (or its monitor is about to
// restart it).
func (e *Engine) Running(ctx context.Context, id string) bool {
	c, err := e.Lookup(ctx, id)
	return err == nil && (c.State.Running || c.State.Restarting)
}

// RootfsSize is the size of the container's own changes (`ps -s`).
func (e *Engine) RootfsSize(ctx context.Context, id string) int64 {
	c := &Container{ID: id}
	_ = e.meta.view(func(tx *bolt.Tx) error {
		if r, err := getContainer(tx, id); err == nil {
			c = r
		}
		return nil
	})
	images, release, err := e.ImagesFor(ctx, c)
	if err != nil {
		return 0
	}
	defer release()
	snaps, _ := images.Snapshots()
	u, err := snaps.Usage(ctx, id)
	if err != nil {
		return 0
	}
	return u.Size
}

// Pause freezes (pause true) or thaws a running container.
func (e *Engine) Pause(ctx context.Context, ref string, pause bool) error {
	// Under the lock, so that a start or stop does not interleave.
	c, unlock, err := e.lookupLocked(ctx, ref)
	if err != nil {
		return err
	}
	defer unlock()
	if !c.State.Running {
		return fmt.Errorf("container %s is not running", c.ID)
	}
	if c.State.Paused == pause {
		if pause {
			return fmt.Errorf("container %s is already paused", c.ID)
		}
		return fmt.Errorf("container %s is not paused", c.ID)
	}
	verb := "resume"
	if pause {
		verb = "pause"
	}
	if out, err := exec.Command(c.Runtime, "--root", e.runtimeRoot(c), verb, c.ID).CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %s", verb, c.Name, strings.TrimSpace(string(out)))
	}
	e.Emit(c, pauseAction(pause), nil)
	_, err = e.modify(c.ID, func(r *Container) error {
		r.State.Paused = pause
		return nil
	})
	return err
}

// Rename gives a container another name.
func (e *Engine) Rename(ctx context.Context, ref, name string) error {
	c, err := e.Lookup(ctx, ref)
	if err != nil {
		return err
	}
	name = strings.TrimPrefix(name, "/")
	if !validName.MatchString(name) {
		return fmt.Errorf("invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name)
	}
	return e.meta.update(func(tx *bolt.Tx) error {
		names := tx.Bucket(bucketNames)
		if other := names.Get([]byte(name)); other != nil {
			return fmt.Errorf("the container name \"/%s\" is already in use by container %q: %w", name, other, ErrNameInUse)
		}
		cur, err := getContainer(tx, c.ID)
		if err != nil {
			return err
		}
		if err := names.Delete([]byte(cur.Name)); err != nil {
			return err
		}
		cur.Name = name
		if err := names.Put([]byte(name), []byte(c.ID)); err != nil {
			return err
		}
		return putContainer(tx, cur)
	})
}

// Top runs ps for the container's processes (the runtime's ps, with ps
// options as Docker passes them; default -ef).
func (e *Engine) Top(ctx context.Context, ref string, psArgs []string) (string, error) {
	c, err := e.Lookup(ctx, ref)
	if err != nil {
		return "", err
	}
	if !c.State.Running {
		return "", fmt.Errorf("container %s is not running", c.ID)
	}
	if len(psArgs) == 0 {
		psArgs = []string{"-ef"}
	}
	out, err := exec.Command(c.Runtime, append([]string{"--root", e.runtimeRoot(c), "ps", c.ID}, psArgs...)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("top %s: %s", c.Name, strings.TrimSpace(string(out)))
	}
	e.Emit(c, "top", nil)
	return string(out), nil
}

// Rootfs is the container's mounted root filesystem on the host (mounted
// again if it is not, after a reboot).
func (e *Engine) Rootfs(ctx context.Context, c *Container) (string, error) {
	if err := e.ensureMounted(ctx, c); err != nil {
		return "", err
	}
	return filepath.Join(e.dir(c.ID), "rootfs"), nil
}

// Attach connects to a running container's monitor, for `attach`.
func (e *Engine) Attach(ctx context.Context, c *Container) (net.Conn, error) {
	if !c.State.Running {
		return nil, fmt.Errorf("you cannot attach to a stopped container, start it first")
	}
	conn, err := monitor.DialIn(e.runDir(c), monitor.AttachSock)
	if err == nil {
		e.Emit(c, "attach", nil)
	}
	return conn, err
}
