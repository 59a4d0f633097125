package engine

import (
	"context"
	"reflect"
	"testing"

	"berth/engine/ocispec"
)

// TestRunRecordsCreatedFieldsAtStart: for run (StartAfter) Create leaves
// the process and mounts to Start's transaction; once started, the record
// has them, as a create followed by start has.
func TestRunRecordsCreatedFieldsAtStart(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	dir := t.TempDir()
	c, err := e.Create(ctx, CreateOptions{Image: "busybox", StartAfter: true,
		Spec: ocispec.Options{Cmd: []string{"sleep", "30"}, Binds: []string{dir + ":/data:ro"}}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != "sleep" || !reflect.DeepEqual(c.Args, []string{"30"}) || len(c.Mounts) != 1 {
		t.Fatalf("Create's result: path %q args %q mounts %+v", c.Path, c.Args, c.Mounts)
	}
	// Not written yet: the record is pending on this process.
	before, err := e.Lookup(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if before.Pending == nil {
		t.Fatal("the record of a run not yet started is not pending")
	}
	started, err := e.Start(ctx, c.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if started.Path != "sleep" || !reflect.DeepEqual(started.Args, []string{"30"}) {
		t.Fatalf("Start's result: path %q args %q", started.Path, started.Args)
	}
	got, err := e.Lookup(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Pending != nil || got.Path != "sleep" || !reflect.DeepEqual(got.Args, []string{"30"}) ||
		!reflect.DeepEqual(got.Mounts, c.Mounts) {
		t.Fatalf("record after start: pending %v path %q args %q mounts %+v", got.Pending, got.Path, got.Args, got.Mounts)
	}
	if _, ok := e.unsaved.take(c.ID); ok {
		t.Fatal("Start left the created fields behind")
	}
}
