package layer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// buildTree makes in dir a tree of the files names, created in the
// order given by order, with a hardlink pair, an xattr and fixed times.
func buildTree(t *testing.T, dir string, names, order []string) {
	t.Helper()
	for _, n := range order {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("content of "+n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link(filepath.Join(dir, names[0]), filepath.Join(dir, "zz-link")); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setxattr(filepath.Join(dir, names[1]), "user.k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, ts, ts)
	}); err != nil {
		t.Fatal(err)
	}
}

// TestDiffReproducible wants byte-identical diffs from the same tree, and
// from two equal trees whose entries were created in opposite orders
// (so that the directory read order differs).
func TestDiffReproducible(t *testing.T) {
	requireRoot(t)
	var names []string
	for i := 0; i < 300; i++ {
		names = append(names, filepath.Join(string(rune('a'+i%7)), strings.Repeat("f", 1+i%5)+string(rune('a'+i%26))+string(rune('0'+i%10))))
	}
	slices.Sort(names)
	names = slices.Compact(names)
	rev := slices.Clone(names)
	slices.Reverse(rev)
	// tmpfs lists a directory in creation order (newest first), unlike
	// ext4's hash order, so the two trees really read differently.
	one, two := tmpfsDir(t), tmpfsDir(t)
	buildTree(t, one, names, names)
	buildTree(t, two, names, rev)

	if slices.Equal(rawNames(t, filepath.Join(one, "a")), rawNames(t, filepath.Join(two, "a"))) {
		t.Fatal("test trees read in the same order; the test proves nothing")
	}
	a, b, c := diff(t, one), diff(t, one), diff(t, two)
	if !bytes.Equal(a, b) {
		t.Fatal("two diffs of the same tree differ")
	}
	if !bytes.Equal(a, c) {
		t.Fatalf("diffs of equal trees built in different orders differ:\n%v\n%v", tarNames(t, a)[:10], tarNames(t, c)[:10])
	}
	got := tarNames(t, a)
	if !slices.Contains(got, "zz-link") || got[0] != "a/" {
		t.Fatalf("entries %v", got[:5])
	}
	// Clamped mtimes for SOURCE_DATE_EPOCH builds.
	var buf bytes.Buffer
	epoch := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := Diff(context.Background(), &buf, one, DiffOptions{ModTimeUpperBound: epoch}); err != nil {
		t.Fatal(err)
	}
	two2 := t.TempDir()
	apply(t, two2, buf.Bytes(), WhiteoutsOverlay)
	if got := dirMtime(t, filepath.Join(two2, names[0])); !got.Equal(epoch) {
		t.Fatalf("clamped mtime %v", got)
	}
}

// TestDiffRefusesRedirect refuses upper dirs a tar cannot express.
func TestDiffRefusesRedirect(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "d"), 0o755)
	if err := unix.Setxattr(filepath.Join(dir, "d"), overlayRedirect, []byte("/x"), 0); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Diff(context.Background(), &buf, dir, DiffOptions{}); err == nil || !strings.Contains(err.Error(), "redirect") {
		t.Fatalf("err = %v", err)
	}
}

// twoLayers is a base layer and the changes a container makes to it.
func twoLayers(t *testing.T) (base, change []byte) {
	base = mkTar(t,
		dirE("etc/", 0o755), fileE("etc/passwd", "root", 0o644), fileE("etc/gone", "x", 0o644),
		dirE("var/", 0o755), dirE("var/cache/", 0o755), fileE("var/cache/a", "a", 0o644), fileE("var/cache/b", "b", 0o644),
		dirE("usr/", 0o755), fileE("usr/same", "same", 0o644),
		dirE("old/", 0o755), fileE("old/f", "f", 0o644),
	)
	t2 := testTime.Add(time.Hour)
	pw := fileE("etc/passwd", "root\nuser", 0o644)
	pw.h.ModTime = t2
	etc := dirE("etc/", 0o755)
	etc.h.ModTime = t2
	nf := fileE("etc/new", "new", 0o600)
	nf.h.ModTime = t2
	cache := dirE("var/cache/", 0o755)
	cache.h.ModTime = t2
	change = mkTar(t,
		etc, fileE("etc/.wh.gone", "", 0), nf, pw,
		dirE("var/", 0o755), cache, fileE("var/cache/.wh..wh..opq", "", 0), fileE("var/cache/c", "c", 0o644),
		fileE(".wh.old", "", 0),
		dirE("home/", 0o755), fileE("home/x", "x", 0o644),
	)
	return base, change
}

// TestDiffDirs computes a layer from two full trees and checks that it
// rebuilds the upper tree from the lower one.
func TestDiffDirs(t *testing.T) {
	requireRoot(t)
	base, change := twoLayers(t)
	lower, upper, rebuilt := t.TempDir(), t.TempDir(), t.TempDir()
	for _, d := range []string{lower, upper, rebuilt} {
		apply(t, d, base, WhiteoutsMerge)
	}
	apply(t, upper, change, WhiteoutsMerge)

	var buf bytes.Buffer
	if err := DiffDirs(context.Background(), &buf, lower, upper, DiffOptions{}); err != nil {
		t.Fatal(err)
	}
	names := tarNames(t, buf.Bytes())
	want := []string{"etc/", "etc/.wh.gone", "etc/new", "etc/passwd", "home/", "home/x", ".wh.old", "var/", "var/cache/", "var/cache/.wh.a", "var/cache/.wh.b", "var/cache/c"}
	if !slices.Equal(names, want) {
		t.Fatalf("entries\n %v\nwant\n %v", names, want)
	}
	apply(t, rebuilt, buf.Bytes(), WhiteoutsMerge)
	if d := diffTrees(describe(t, upper), describe(t, rebuilt)); d != "" {
		t.Fatalf("rebuilt tree differs:\n%s", d)
	}
	var again bytes.Buffer
	DiffDirs(context.Background(), &again, lower, upper, DiffOptions{})
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Fatal("DiffDirs is not reproducible")
	}

	changes, err := ChangesDirs(context.Background(), lower, upper)
	if err != nil {
		t.Fatal(err)
	}
	wantC := []string{"C /etc", "D /etc/gone", "A /etc/new", "C /etc/passwd", "A /home", "A /home/x", "D /old", "C /var/cache", "D /var/cache/a", "D /var/cache/b", "A /var/cache/c"}
	if got := strs(changes); !slices.Equal(got, wantC) {
		t.Fatalf("changes\n %v\nwant\n %v", got, wantC)
	}
}

// TestDiffDirsContent finds a content change hidden by equal size and a
// whole-second mtime.
func TestDiffDirsContent(t *testing.T) {
	requireRoot(t)
	lower, upper := t.TempDir(), t.TempDir()
	l := mkTar(t, fileE("f", "aaaa", 0o644), fileE("g", "same", 0o644))
	apply(t, lower, l, WhiteoutsMerge)
	apply(t, upper, mkTar(t, fileE("f", "bbbb", 0o644), fileE("g", "same", 0o644)), WhiteoutsMerge)
	changes, err := ChangesDirs(context.Background(), lower, upper)
	if err != nil {
		t.Fatal(err)
	}
	if got := strs(changes); !slices.Equal(got, []string{"C /f"}) {
		t.Fatalf("changes %v", got)
	}
}

// TestChangesOverlay lists an overlay upper directory's changes against
// its lower layers, as `docker diff` does.
func TestChangesOverlay(t *testing.T) {
	requireRoot(t)
	base, change := twoLayers(t)
	lower1, lower2, upper := t.TempDir(), t.TempDir(), t.TempDir()
	apply(t, lower1, base, WhiteoutsOverlay)
	// A middle layer that deletes usr/same and hides old/ under an
	// opaque directory holding old/g.
	apply(t, lower2, mkTar(t, fileE("usr/.wh.same", "", 0), dirE("old/", 0o755), fileE("old/.wh..wh..opq", "", 0), fileE("old/g", "g", 0o644)), WhiteoutsOverlay)
	apply(t, upper, change, WhiteoutsOverlay)
	apply(t, upper, mkTar(t, fileE("usr/.wh.same", "", 0)), WhiteoutsOverlay)

	changes, err := Changes(context.Background(), upper, []string{lower2, lower1})
	if err != nil {
		t.Fatal(err)
	}
	// usr/same is already gone below: no D for it, but usr shows as C.
	want := []string{"C /etc", "D /etc/gone", "A /etc/new", "C /etc/passwd", "A /home", "A /home/x", "D /old", "C /usr", "C /var", "C /var/cache", "D /var/cache/a", "D /var/cache/b", "A /var/cache/c"}
	if got := strs(changes); !slices.Equal(got, want) {
		t.Fatalf("changes\n %v\nwant\n %v", got, want)
	}
}

func strs(cs []Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.String())
	}
	return out
}

// tmpfsDir mounts a fresh tmpfs for a test.
func tmpfsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "mode=0755"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// rawNames lists a directory in the order the filesystem returns it.
func rawNames(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		t.Fatal(err)
	}
	return names
}
