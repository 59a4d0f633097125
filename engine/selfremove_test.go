package engine

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth/engine/monitor"
	"berth/engine/ocispec"
	"berth/snapshot"
)

// TestSelfRemoveKilledMidway: a foreground run --rm killed in the middle
// of its in-process removal, after the container's directory went but
// before its record did, leaves the rest to the monitor's exit command:
// the monitor must not take the directory's end for the whole removal.
// The run's death is the end of its handshake socket (what the kernel
// does to a killed process's descriptors).
func TestSelfRemoveKilledMidway(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	// The exit command notes that it ran (and with what).
	marker := filepath.Join(t.TempDir(), "exit-command")
	script := filepath.Join(t.TempDir(), "berth")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$@\" > "+marker+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	e.self = script
	c, err := e.Create(ctx, CreateOptions{Image: "busybox", AutoRemove: true, StartAfter: true,
		Spec: ocispec.Options{Cmd: []string{"true"}}})
	if err != nil {
		t.Fatal(err)
	}
	attach := func(conn net.Conn) error { return conn.Close() }
	if _, err := e.Start(ctx, c.ID, attach); err != nil {
		t.Fatal(err)
	}
	x, ok := e.removers.get(c.ID)
	if !ok {
		t.Fatal("a foreground run --rm did not take its container's removal")
	}
	dir := e.dir(c.ID)
	for deadline := time.Now().Add(10 * time.Second); ; {
		var exit monitor.Exit
		if monitor.ReadJSON(dir, monitor.ExitFile, &exit) == nil && exit.Final {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the container did not exit")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The removal, up to the directory; then the process dies.
	if err := snapshot.Unmount(filepath.Join(dir, "rootfs")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	x.sync.Close()
	select {
	case <-x.monitorDone:
	case <-time.After(15 * time.Second):
		t.Fatal("the monitor did not end")
	}
	e.removers.drop(c.ID)
	got, err := os.ReadFile(marker)
	if err != nil || !strings.Contains(string(got), "rm --force --volumes "+c.ID) {
		t.Fatalf("the monitor's exit command did not run after the remover died with the record left: %q %v", got, err)
	}
	// What was left is removable.
	if err := e.Remove(ctx, c.ID, true, true); err != nil {
		t.Fatalf("remove what the killed removal left: %v", err)
	}
	if _, err := e.Lookup(ctx, c.ID); err == nil {
		t.Fatal("the container's record is still there")
	}
}
