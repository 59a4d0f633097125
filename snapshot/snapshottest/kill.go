package snapshottest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth/snapshot"
)

// victimEnv, when set (to a root directory), turns the test binary run by
// RunKill9 into the process that gets killed.
const victimEnv = "BERTH_SNAPSHOTTEST_VICTIM"

// RunKill9 kills (SIGKILL) a process in the middle of preparing,
// committing and removing snapshots, then checks that the snapshotter
// opens again, that Cleanup removes what the process left half done, and
// that every directory left belongs to a snapshot. Call it from a
// top-level test of its own: it re-runs the test binary with -test.run
// set to that test's name.
func RunKill9(t *testing.T, newS NewFunc) {
	if root := os.Getenv(victimEnv); root != "" {
		victim(t, newS, root)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("snapshot conformance needs root")
	}
	root := newRoot(t)
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), victimEnv+"="+root)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := filepath.Join(root, "victim-ready")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("victim never got ready:\n%s", out)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(150 * time.Millisecond)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if err := os.Remove(ready); err != nil {
		t.Fatal(err)
	}

	if ents, err := os.ReadDir(filepath.Join(root, "snapshots")); err == nil {
		var left []string
		for _, e := range ents {
			left = append(left, e.Name())
		}
		t.Logf("left by the killed process: %v", left)
	}
	ctx := context.Background()
	s := newS(t, root)
	if err := s.Cleanup(ctx); err != nil {
		t.Fatalf("cleanup after kill -9: %v", err)
	}
	records := 0
	if err := s.Walk(ctx, func(snapshot.Info) error { records++; return nil }); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(filepath.Join(root, "snapshots"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(ents) != records {
		t.Errorf("after cleanup: %d snapshot directories %v for %d records", len(ents), names, records)
	}
	err = s.Walk(ctx, func(i snapshot.Info) error {
		// Every committed snapshot still mounts.
		if i.Kind == snapshot.KindCommitted {
			ms, err := s.View(ctx, "check-"+i.Key, i.Key)
			if err != nil {
				return err
			}
			d, unmount := mount(t, snapshot.Mounter{}, ms)
			defer unmount()
			if _, err := os.Stat(filepath.Join(d, "base-0")); err != nil {
				return fmt.Errorf("view of %s: %w", i.Key, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d snapshots survived the kill", records)
}

// victim loops until killed: prepare on the base layer, write files,
// commit, remove the previous one.
func victim(t *testing.T, newS NewFunc, root string) {
	ctx := context.Background()
	s := newS(t, root)
	layer(t, s, "base", "", func(d string) {
		for i := range 300 {
			writeFile(t, filepath.Join(d, fmt.Sprintf("base-%d", i)), strings.Repeat("x", 4096))
		}
	})
	if err := os.WriteFile(filepath.Join(root, "victim-ready"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		key := fmt.Sprintf("c%d", i)
		ms, err := s.Prepare(ctx, key, "base")
		if err != nil {
			t.Fatal(err)
		}
		for j := range 50 {
			writeFile(t, filepath.Join(applyDir(t, ms), fmt.Sprintf("f%d", j)), "data")
		}
		if err := s.Commit(ctx, "layer-"+key, key); err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			if err := s.Remove(ctx, fmt.Sprintf("layer-c%d", i-1)); err != nil {
				t.Fatal(err)
			}
		}
	}
}
