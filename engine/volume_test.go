package engine

import (
	"context"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestVolumeRemoveIgnoresAbandoned: a record whose create died midway
// (pending on a process that is gone) does not keep `volume rm` from
// removing a volume it names; one pending on a live process does.
func TestVolumeRemoveIgnoresAbandoned(t *testing.T) {
	ctx := context.Background()
	e, err := Open(ctx, t.TempDir(), Options{Runtime: "/bin/false", Monitor: "/bin/false", Self: "/bin/false", RunRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	put := func(id, name string, pending *ProcessRef) {
		t.Helper()
		c := &Container{ID: id, Name: name, Volumes: []string{"data"}, Pending: pending}
		if err := e.meta.update(func(tx *bolt.Tx) error { return putContainer(tx, c) }); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.VolumeCreate(ctx, "data", nil); err != nil {
		t.Fatal(err)
	}
	put("1111111111111111111111111111111111111111111111111111111111111111", "alive", self())
	if err := e.VolumeRemove(ctx, "data", false); err == nil {
		t.Fatal("removed a volume a live create claims")
	}
	// A pid above the kernel's limit: no such process.
	put("1111111111111111111111111111111111111111111111111111111111111111", "dead", &ProcessRef{Pid: 1 << 30, Start: 1})
	if err := e.VolumeRemove(ctx, "data", false); err != nil {
		t.Fatalf("volume rm with only an abandoned record naming it: %v", err)
	}
}
