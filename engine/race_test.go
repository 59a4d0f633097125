package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"berth/engine/monitor"
	"berth/engine/ocispec"
	"berth/snapshot"
)

// checkNames fails unless the names index and the records agree: every
// name resolves to the record that carries it, and every record's name
// to it.
func checkNames(t *testing.T, e *Engine) {
	t.Helper()
	err := e.meta.view(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketNames).ForEach(func(k, v []byte) error {
			c, err := getContainer(tx, string(v))
			if err != nil {
				return fmt.Errorf("name %s: %s: %w", k, v, err)
			}
			if c.Name != string(k) {
				return fmt.Errorf("name %s resolves to %s, whose record says %s", k, c.ShortID(), c.Name)
			}
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket(bucketContainers).ForEach(func(k, _ []byte) error {
			c, err := getContainer(tx, string(k))
			if err != nil {
				return err
			}
			if id := tx.Bucket(bucketNames).Get([]byte(c.Name)); string(id) != c.ID {
				return fmt.Errorf("record %s says %s, which resolves to %q", c.ShortID(), c.Name, id)
			}
			return nil
		})
	})
	if err != nil {
		t.Error(err)
	}
}

// TestRenameRace: renames of two containers race each other and pauses
// (which write the record too); no rename may be lost or leave a name
// that does not match its record.
func TestRenameRace(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	var ids [2]string
	for i := range ids {
		c, err := e.Create(ctx, CreateOptions{Name: fmt.Sprintf("r%d", i), Image: "busybox", Spec: ocispec.Options{Cmd: []string{"sleep", "100"}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Start(ctx, c.ID, nil); err != nil {
			t.Fatal(err)
		}
		ids[i] = c.ID
	}
	var wg sync.WaitGroup
	for g := 0; g < 20; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := ids[g%2]
			for k := 0; k < 5; k++ {
				if g%4 < 2 {
					// Pause and unpause: they write the record.
					_ = e.Pause(ctx, id, true)
					_ = e.Pause(ctx, id, false)
					continue
				}
				if err := e.Rename(ctx, id, fmt.Sprintf("n%d-%d", g, k)); err != nil && !errors.Is(err, ErrNameInUse) {
					t.Errorf("rename: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	checkNames(t, e)
	for _, id := range ids {
		c, err := e.Lookup(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := e.Lookup(ctx, c.Name); err != nil || got.ID != id {
			t.Errorf("%s: its name %s finds %v (%v)", id[:12], c.Name, got, err)
		}
		if !strings.HasPrefix(c.Name, "n") {
			t.Errorf("%s: every rename lost: %s", id[:12], c.Name)
		}
	}
}

// TestCreateFailureRemovesVolumes: a create that fails after it made an
// anonymous volume leaves no volume behind.
func TestCreateFailureRemovesVolumes(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	// A volume directory without its volume.json: making a volume of that
	// name fails, after the anonymous one for /a was made.
	if err := os.MkdirAll(filepath.Join(e.volumesDir(), "broken", "junk"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := e.Create(ctx, CreateOptions{Image: "busybox", Spec: ocispec.Options{
		Cmd: []string{"true"}, Mounts: []string{"type=volume,dst=/a", "type=volume,src=broken,dst=/z"},
	}})
	if err == nil {
		t.Fatal("create succeeded with a broken volume")
	}
	vols, err := e.VolumeList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(vols) != 0 {
		t.Errorf("a failed create left volumes: %+v", vols)
	}
	if list, _ := e.List(ctx); len(list) != 0 {
		t.Errorf("a failed create left containers: %d", len(list))
	}
}

// TestVolumePruneRacingCreate: volume prune running all the time while
// containers with anonymous volumes are made never removes one a new
// container is about to use.
func TestVolumePruneRacingCreate(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, _, err := e.VolumePrune(ctx, false, nil); err != nil && !errors.Is(err, ErrVolumeInUse) {
				t.Errorf("prune: %v", err)
				return
			}
		}
	}()
	// Several volumes each: the first is made well before the last.
	var binds []string
	for i := 0; i < 8; i++ {
		binds = append(binds, fmt.Sprintf("/v%d", i))
	}
	var made []*Container
	for i := 0; i < 10; i++ {
		c, err := e.Create(ctx, CreateOptions{Image: "busybox", Spec: ocispec.Options{Cmd: []string{"true"}, Binds: binds}})
		if err != nil {
			close(done)
			wg.Wait()
			t.Fatal(err)
		}
		made = append(made, c)
	}
	close(done)
	wg.Wait()
	for _, c := range made {
		if len(c.Volumes) != len(binds) {
			t.Errorf("%s: volumes %v", c.ShortID(), c.Volumes)
		}
		for _, v := range c.Volumes {
			if _, err := e.VolumeInspect(ctx, v); err != nil {
				t.Errorf("%s: its volume was pruned: %v", c.ShortID(), err)
			}
		}
	}
}

// TestSnapshotterRecorded: a container made with another snapshotter than
// the engine's default keeps it: its rootfs is removed from there by an
// engine opened without --snapshotter, and --rm's exit command names it.
func TestSnapshotterRecorded(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	if _, name := e.Images().Snapshots(); name == "native" {
		t.Skip("the default snapshotter is native here")
	}
	n, err := Open(ctx, e.root, Options{
		Runtime: filepath.Join(bins, "berth-runtime"), Monitor: filepath.Join(bins, "berth-monitor"), Self: "/bin/false",
		Snapshotter: "native", RunRoot: e.runRoot,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	c, err := n.Create(ctx, CreateOptions{Image: "busybox", AutoRemove: true, Spec: ocispec.Options{Cmd: []string{"sleep", "100"}}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Snapshotter != "native" {
		t.Errorf("recorded snapshotter %q", c.Snapshotter)
	}
	if _, err := n.Start(ctx, c.ID, nil); err != nil {
		t.Fatal(err)
	}
	// The exit command is on the monitor's command line (no file records it).
	pidText, err := os.ReadFile(filepath.Join(n.runDir(c), monitor.PidFile))
	if err != nil {
		t.Fatal(err)
	}
	cmdline, err := os.ReadFile("/proc/" + strings.TrimSpace(string(pidText)) + "/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.ReplaceAll(string(cmdline), "\x00", " "); !strings.Contains(got, "--exit-command --snapshotter --exit-command native --exit-command rm") {
		t.Errorf("monitor command line %q", got)
	}
	// Stopped and started again by the default engine: the rootfs is
	// mounted from native.
	if _, err := e.Stop(ctx, c.ID, new(int)); err != nil {
		t.Fatal(err)
	}
	if err := e.Remove(ctx, c.ID, true, true); err != nil {
		t.Fatal(err)
	}
	snaps, _ := n.Images().Snapshots()
	if _, err := snaps.Stat(ctx, c.ID); !errors.Is(err, snapshot.ErrNotFound) {
		t.Errorf("the native rootfs snapshot is still there after rm: %v", err)
	}
}

// TestKilledCreateRemovesVolumes: the anonymous volumes of a container
// whose maker died before it was made go with it.
func TestKilledCreateRemovesVolumes(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	c, err := e.Create(ctx, CreateOptions{Image: "busybox", StartAfter: true, Spec: ocispec.Options{Cmd: []string{"true"}, Binds: []string{"/data"}}})
	if err != nil {
		t.Fatal(err)
	}
	// Its maker is now a process that is gone.
	err = e.meta.update(func(tx *bolt.Tx) error {
		r, err := getContainer(tx, c.ID)
		if err != nil {
			return err
		}
		r.Pending = &ProcessRef{Pid: 1 << 30, Start: 1}
		return putContainer(tx, r)
	})
	if err != nil {
		t.Fatal(err)
	}
	if list, _ := e.List(ctx); len(list) != 0 {
		t.Errorf("the abandoned container is listed")
	}
	if vols, _ := e.VolumeList(ctx); len(vols) != 0 {
		t.Errorf("its anonymous volume is left: %+v", vols)
	}
}
