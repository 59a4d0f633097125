package auto

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"berth/snapshot/overlay"
)

func open(t *testing.T, root, name string) string {
	t.Helper()
	s, got, err := New(context.Background(), root, name)
	if err != nil {
		t.Fatalf("New(%q): %v", name, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestNamed(t *testing.T) {
	root := t.TempDir()
	for _, n := range Names() {
		if got := open(t, root, n); got != n {
			t.Errorf("New(%q) opened %q", n, got)
		}
		if _, err := os.Stat(filepath.Join(root, n, "metadata.db")); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	if _, _, err := New(context.Background(), root, "zfs"); err == nil {
		t.Error("unknown snapshotter accepted")
	}
}

func TestChooses(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to probe overlay")
	}
	root := t.TempDir()
	want := Native
	if overlay.Check(context.Background(), t.TempDir()) == nil {
		want = Overlay
	}
	if got := open(t, root, ""); got != want {
		t.Errorf("auto chose %q, want %q", got, want)
	}
	// The probe left nothing behind but the chosen snapshotter's state.
	ents, _ := os.ReadDir(filepath.Join(root, Overlay))
	for _, e := range ents {
		if e.Name() != "metadata.db" && e.Name() != "snapshots" && e.Name() != "l" {
			t.Errorf("left in overlay root: %s", e.Name())
		}
	}
}

// TestKeepsPrior: a root that already has native snapshots stays native
// even where overlay would mount.
func TestKeepsPrior(t *testing.T) {
	root := t.TempDir()
	open(t, root, Native)
	if got := open(t, root, ""); got != Native {
		t.Errorf("auto chose %q over the prior native", got)
	}
}
