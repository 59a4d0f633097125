package build

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestWorkdirOwnedByUser: WORKDIR makes the directories it creates
// belong to the stage's USER (as BuildKit), and leaves existing ones alone.
func TestWorkdirOwnedByUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "srv"), 0o755); err != nil {
		t.Fatal(err)
	}
	passwd := "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n"
	if err := os.WriteFile(filepath.Join(root, "etc", "passwd"), []byte(passwd), 0o644); err != nil {
		t.Fatal(err)
	}
	owner := func(rel string) [2]uint32 {
		t.Helper()
		st, err := os.Lstat(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		s := st.Sys().(*syscall.Stat_t)
		return [2]uint32{s.Uid, s.Gid}
	}
	if err := mkdirInRoot(root, "/srv/a/b", "app"); err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string][2]uint32{"srv": {0, 0}, "srv/a": {1000, 1001}, "srv/a/b": {1000, 1001}} {
		if got := owner(rel); got != want {
			t.Errorf("%s owned by %v, want %v", rel, got, want)
		}
	}
	if err := mkdirInRoot(root, "/n/m", "42:43"); err != nil {
		t.Fatal(err)
	}
	if got := owner("n/m"); got != [2]uint32{42, 43} {
		t.Errorf("n/m owned by %v, want 42:43", got)
	}
	if err := mkdirInRoot(root, "/r", ""); err != nil {
		t.Fatal(err)
	}
	if got := owner("r"); got != [2]uint32{0, 0} {
		t.Errorf("r owned by %v, want root", got)
	}
	if err := mkdirInRoot(root, "/x", "nobody"); err == nil {
		t.Error("WORKDIR with an unknown USER name: no error")
	}
}
