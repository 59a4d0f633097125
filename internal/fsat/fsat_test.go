package fsat

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOpenInRootStaysInside: "..", absolute and climbing symlinks resolve
// inside the root, never to the directory beside it.
func TestOpenInRootStaysInside(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	outside := filepath.Join(dir, "outside")
	for _, d := range []string{root, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"abs": outside, "climb": "../outside", "dots": "../../../../outside"} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	fd, err := OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	for _, rel := range []string{"abs/secret", "climb/secret", "dots/secret", "../outside/secret", "/../outside/secret"} {
		f, err := OpenInRoot(fd, rel, unix.O_RDONLY)
		if err == nil {
			unix.Close(f)
			t.Errorf("%s opened a file outside the root", rel)
		} else if !errors.Is(err, unix.ENOENT) {
			t.Errorf("%s: %v, want ENOENT", rel, err)
		}
	}
	f, err := OpenInRoot(fd, "", unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		t.Fatalf("the root itself: %v", err)
	}
	unix.Close(f)
}

// TestRemoveAtFollowsNothing: removing a tree with a symlink to a
// directory outside removes the link, not what it points at.
func TestRemoveAtFollowsNothing(t *testing.T) {
	dir := t.TempDir()
	keep := filepath.Join(dir, "keep")
	if err := os.MkdirAll(filepath.Join(keep, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(dir, "tree", "a", "b")
	if err := os.MkdirAll(tree, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(keep, filepath.Join(tree, "link")); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := RemoveAt(fd, "tree"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "tree")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("tree still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(keep, "sub")); err != nil {
		t.Errorf("the link's target was touched: %v", err)
	}
	if err := RemoveAt(fd, "missing"); err != nil {
		t.Errorf("a missing name: %v", err)
	}
	names, err := ReadNames(fd)
	if err != nil || len(names) != 1 || names[0] != "keep" {
		t.Errorf("ReadNames = %v, %v; want [keep]", names, err)
	}
}

// TestMkdirAll: missing directories are made inside the root, each one
// passed to made once; a climbing symlink on the way stays inside; a
// symlink to a missing directory is refused, its target not made.
func TestMkdirAll(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	if err := os.MkdirAll(filepath.Join(root, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../..", filepath.Join(root, "a", "up")); err != nil {
		t.Fatal(err)
	}
	// Absolute: inside the root it names <root><dir>/missing; a naive
	// walk would make <dir>/missing, beside the root.
	missing := filepath.Join(dir, "missing")
	if err := os.Symlink(missing, filepath.Join(root, "dangling")); err != nil {
		t.Fatal(err)
	}
	rfd, err := OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(rfd)
	var made int
	count := func(int) error { made++; return nil }
	fd, err := MkdirAll(rfd, "a/up/b/c", unix.O_PATH, "/", count)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	if made != 2 {
		t.Errorf("made called %d times, want 2 (b and c)", made)
	}
	if _, err := os.Stat(filepath.Join(root, "b", "c")); err != nil {
		t.Errorf("b/c not made inside the root: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "b")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a directory made outside the root: %v", err)
	}
	if _, err := MkdirAll(rfd, "dangling/x", unix.O_PATH, "/", count); err == nil || err.Error() != "/dangling is a symlink to a missing directory" {
		t.Errorf("through a dangling symlink: %v", err)
	}
	for _, p := range []string{missing, filepath.Join(root, missing)} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the dangling symlink's target %s was made: %v", p, err)
		}
	}
}
