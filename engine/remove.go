package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"

	"berth/engine/monitor"
	"berth/snapshot"
)

// ErrRunning says a container must be stopped (or forced) first.
var ErrRunning = errors.New("container is running")

// Remove removes a container: refused while it runs unless force, which
// kills it first. Everything it had goes: its process, monitor, runtime
// state, rootfs mount and snapshot, directory and record; with volumes,
// its anonymous volumes too (rm -v, --rm).
func (e *Engine) Remove(ctx context.Context, ref string, force, volumes bool) error {
	c, unlock, err := e.lookupLocked(ctx, ref)
	if errors.Is(err, ErrNotFound) {
		c, unlock, err = e.lookupLeftover(ctx, ref)
	}
	if err != nil {
		return err
	}
	defer unlock()
	if (c.State.Running || c.State.Restarting) && !force {
		return fmt.Errorf("cannot remove container %s: %w: stop the container before attempting removal or force remove", c.Name, ErrRunning)
	}
	if c.State.Running {
		e.Emit(c, "kill", map[string]string{"signal": "9"}) // rm -f kills it, as Docker's
	}
	if err := e.cleanup(ctx, c); err != nil {
		return err
	}
	defer e.Emit(c, "destroy", nil) // after its volumes', as Docker's
	if volumes {
		for _, name := range c.Volumes {
			if v, err := e.VolumeInspect(ctx, name); err == nil && v.Anonymous {
				if err := e.VolumeRemove(ctx, name, true); err != nil && !errors.Is(err, ErrVolumeInUse) {
					return err
				}
			}
		}
	}
	return nil
}

// cleanup takes down whatever of the container exists; each step is
// idempotent, so it also finishes a create or a remove that was killed.
func (e *Engine) cleanup(ctx context.Context, c *Container) error {
	dir := e.dir(c.ID)
	_ = os.WriteFile(filepath.Join(e.runDir(c), monitor.StopRequested), nil, 0o600)
	// The runtime kills and deletes the container (and its cgroup), if its
	// monitor has not deleted it already (or is not deleting it now: see
	// removeSelf) ...
	if !e.monitorDeletes(c) {
		e.runtimeDelete(c)
	}
	// ... and the monitor, which then has nothing to watch, goes too.
	e.killMonitor(c)
	e.teardownNetwork(c)
	if err := snapshot.Unmount(filepath.Join(dir, "rootfs")); err != nil {
		return fmt.Errorf("remove container %s: %w", c.Name, err)
	}
	images, release, err := e.ImagesFor(ctx, c)
	if err != nil {
		return err
	}
	err = images.RemoveRootfs(ctx, c.ID)
	release()
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove container %s: %w", c.Name, err)
	}
	if err := os.RemoveAll(e.runDir(c)); err != nil {
		return fmt.Errorf("remove container %s: %w", c.Name, err)
	}
	_ = os.Remove(filepath.Join(e.root, "containers", "."+c.ID+".lock"))
	return e.meta.update(func(tx *bolt.Tx) error {
		// The name as stored now: a rename may have run since c was read.
		name := c.Name
		if cur, err := getContainer(tx, c.ID); err == nil {
			name = cur.Name
		}
		if id := tx.Bucket(bucketNames).Get([]byte(name)); id != nil && string(id) == c.ID {
			if err := tx.Bucket(bucketNames).Delete([]byte(name)); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketContainers).Delete([]byte(c.ID))
	})
}

// killMonitor ends the container's monitor, if it runs, and waits a
// little for it to go.
func (e *Engine) killMonitor(c *Container) {
	b, err := os.ReadFile(filepath.Join(e.runDir(c), monitor.PidFile))
	if err != nil || !e.monitorAlive(c) {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	// The monitor's own exit command (--rm, network cleanup) runs this:
	// the monitor is done with the container and waits for us. So does the
	// monitor of a container this process removes itself (selfremove.go).
	if err != nil || pid == os.Getppid() {
		return
	}
	if _, ok := e.removers.get(c.ID); ok {
		return
	}
	_ = unix.Kill(pid, unix.SIGKILL)
	// A killed monitor is usually gone within a millisecond: poll finely
	// first, then every 10 ms, for about a second in all.
	for i := 0; i < 190 && e.monitorAlive(c); i++ {
		time.Sleep(pollStep(i))
	}
}

// lookupLocked finds the container ref names and takes its lock, for a
// command that changes it; the caller calls unlock when done.
func (e *Engine) lookupLocked(ctx context.Context, ref string) (_ *Container, unlock func(), _ error) {
	c, err := e.Lookup(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	if unlock, err = e.lockExisting(c); err != nil {
		return nil, nil, err
	}
	return c, unlock, nil
}

// lookupLeftover finds and locks a container whose record outlived its
// directory: a removal killed between the two (cleanup removes the
// directory first) leaves it, and only rm can finish it. A container
// removed meanwhile (no record either) is not found.
func (e *Engine) lookupLeftover(ctx context.Context, ref string) (_ *Container, unlock func(), _ error) {
	c, err := e.Lookup(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	if unlock, err = e.lock(c.ID); err != nil {
		return nil, nil, err
	}
	if err := e.reload(c); err != nil {
		unlock()
		return nil, nil, err
	}
	return c, unlock, nil
}

// lockExisting takes the container's lock, checks that the container
// still exists (another command may have removed it while this one
// waited) and reloads c: what was read before the lock may be stale (a
// rename, a pause meanwhile).
func (e *Engine) lockExisting(c *Container) (func(), error) {
	unlock, err := e.lock(c.ID)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(e.dir(c.ID)); os.IsNotExist(err) {
		unlock()
		return nil, fmt.Errorf("%w: %s", ErrNotFound, c.Name)
	}
	if err := e.reload(c); err != nil {
		unlock()
		return nil, err
	}
	return unlock, nil
}

// lock takes the container's lock file, serialising the commands that
// change it (start, stop, rm) across processes.
func (e *Engine) lock(id string) (func(), error) {
	path := filepath.Join(e.root, "containers", "."+id+".lock")
	fd, err := unix.Open(path, unix.O_CREAT|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock container %s: %w", id, err)
	}
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("lock container %s: %w", id, err)
	}
	// The file stays: removing it would let a waiter lock a deleted file
	// while a newcomer locks a new one. cleanup removes it with the rest.
	return func() { unix.Close(fd) }, nil
}

// runtimeDelete has the runtime delete the container, if the runtime has
// it (a state directory under its root: runc's layout, which berth-runtime
// and crun share); a spawn saved on every remove of an exited container.
func (e *Engine) runtimeDelete(c *Container) {
	if _, err := os.Stat(filepath.Join(e.runtimeRoot(c), c.ID)); os.IsNotExist(err) {
		return
	}
	_ = exec.Command(c.Runtime, "--root", e.runtimeRoot(c), "delete", "--force", c.ID).Run()
}

// AwaitRemoval waits up to d for a --rm container's monitor to remove it,
// then removes it itself.
func (e *Engine) AwaitRemoval(ctx context.Context, c *Container, d time.Duration) {
	id := c.ID
	if e.removeSelf(ctx, id, time.Now().Add(d)) {
		return
	}
	remover := e.removerOf(c) // it ends after the removal's last volume and event
	for i, deadline := 0, time.Now().Add(d); time.Now().Before(deadline); i++ {
		if i > 0 {
			time.Sleep(pollStep(i))
		}
		if _, err := os.Stat(e.dir(id)); os.IsNotExist(err) {
			if _, err := e.Lookup(ctx, id); errors.Is(err, ErrNotFound) {
				remover.waitGone(deadline)
				return
			}
		}
	}
	_ = e.Remove(ctx, id, true, true)
}

// pollStep is how long the i-th wait of a poll sleeps: 1 ms for the first
// 100 (what is awaited takes a few milliseconds), 10 ms after.
func pollStep(i int) time.Duration {
	if i < 100 {
		return time.Millisecond
	}
	return 10 * time.Millisecond
}
