// Package snapshottest is the conformance suite every snapshotter passes:
// Run exercises a Snapshotter through its interface and real mounts.
// It needs root (it mounts) and skips otherwise. Snapshotters are expected
// to keep their snapshot directories under <root>/snapshots, where the
// orphan case plants its leftovers.
package snapshottest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"berth/snapshot"
	"berth/snapshot/internal/fsutil"
)

// NewFunc opens a snapshotter in root (it may be called again on the same
// root after Close, to check persistence). It should register Close with
// t.Cleanup; Close must be safe to call twice.
type NewFunc func(t *testing.T, root string) snapshot.Snapshotter

// Run runs the conformance cases as subtests.
func Run(t *testing.T, newSnapshotter NewFunc) {
	if os.Geteuid() != 0 {
		t.Skip("snapshot conformance needs root: it mounts")
	}
	cases := []struct {
		name string
		fn   func(*testing.T, NewFunc)
	}{
		{"PrepareCommitView", testPrepareCommitView},
		{"ActiveIsolated", testActiveIsolated},
		{"StatKinds", testStatKinds},
		{"Errors", testErrors},
		{"RemoveOrder", testRemoveOrder},
		{"Walk", testWalk},
		{"UsageGrows", testUsageGrows},
		{"Chain100", testChain100},
		{"LongLowerdir", testLongLowerdir},
		{"CleanupOrphans", testCleanupOrphans},
		{"Reopen", testReopen},
		{"ConcurrentPrepare", testConcurrentPrepare},
		{"HostileKeys", testHostileKeys},
		{"FileAttributes", testFileAttributes},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, newSnapshotter) })
	}
}

// newRoot returns a fresh root and fails the test if anything is still
// mounted under it when the test ends (after unmounting it, so one
// failure does not leak mounts into the host).
func newRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	t.Cleanup(func() { checkNoMounts(t, root) })
	return root
}

func checkNoMounts(t *testing.T, dir string) {
	t.Helper()
	mps, err := fsutil.MountPointsUnder(dir)
	if err != nil {
		t.Errorf("read mount table: %v", err)
		return
	}
	for _, mp := range mps {
		t.Errorf("still mounted after the test: %s", mp)
		_ = snapshot.Unmount(mp)
	}
}

// mount mounts ms on a new directory and returns it, with a function
// that unmounts it (also registered with t.Cleanup; it may run twice).
func mount(t *testing.T, mr snapshot.Mounter, ms []snapshot.Mount) (string, func()) {
	t.Helper()
	target := t.TempDir()
	t.Cleanup(func() { checkNoMounts(t, target) })
	if err := mr.MountAll(ms, target); err != nil {
		t.Fatalf("mount %+v: %v", ms, err)
	}
	var once sync.Once
	unmount := func() {
		once.Do(func() {
			if err := snapshot.Unmount(target); err != nil {
				t.Errorf("unmount: %v", err)
			}
		})
	}
	t.Cleanup(unmount)
	return target, unmount
}

// applyDir is where a layer's files go, per the package contract: the
// Source of a bind mount or the upperdir of an overlay.
func applyDir(t *testing.T, ms []snapshot.Mount) string {
	t.Helper()
	if len(ms) != 1 {
		t.Fatalf("want one mount, got %+v", ms)
	}
	switch ms[0].Type {
	case "bind":
		return ms[0].Source
	case "overlay":
		if u := ms[0].UpperDir(); u != "" {
			return u
		}
	}
	t.Fatalf("mount %+v has no directory to apply a layer to", ms[0])
	return ""
}

// layer makes the committed snapshot name on parent with files written
// by write into the apply directory.
func layer(t *testing.T, s snapshot.Snapshotter, name, parent string, write func(dir string)) {
	t.Helper()
	ctx := context.Background()
	key := "extract-" + name
	ms, err := s.Prepare(ctx, key, parent)
	if err != nil {
		t.Fatalf("prepare %s on %q: %v", key, parent, err)
	}
	write(applyDir(t, ms))
	if err := s.Commit(ctx, name, key); err != nil {
		t.Fatalf("commit %s: %v", name, err)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func wantFile(t *testing.T, path, data string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("read %s: %v", path, err)
		return
	}
	if string(b) != data {
		t.Errorf("%s = %q, want %q", path, b, data)
	}
}

func wantNoFile(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s: want it absent, got %v", path, err)
	}
}

func testPrepareCommitView(t *testing.T, newS NewFunc) {
	ctx := context.Background()
	s := newS(t, newRoot(t))
	layer(t, s, "base", "", func(d string) {
		writeFile(t, filepath.Join(d, "keep"), "base")
		writeFile(t, filepath.Join(d, "gone"), "base")
		if err := os.Mkdir(filepath.Join(d, "dir"), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(d, "dir", "f"), "base")
	})

	// A container-like change made through the mount: the snapshotter
	// must record deletions its own way (whiteouts or a real delete).
	ms, err := s.Prepare(ctx, "work", "base")
	if err != nil {
		t.Fatal(err)
	}
	dir, unmount := mount(t, snapshot.Mounter{}, ms)
	wantFile(t, filepath.Join(dir, "keep"), "base")
	wantFile(t, filepath.Join(dir, "dir", "f"), "base")
	if err := os.Remove(filepath.Join(dir, "gone")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "new"), "top")
	writeFile(t, filepath.Join(dir, "dir", "f"), "changed")
	unmount()
	if err := s.Commit(ctx, "top", "work"); err != nil {
		t.Fatal(err)
	}

	ms, err = s.View(ctx, "view", "top")
	if err != nil {
		t.Fatal(err)
	}
	vdir, _ := mount(t, snapshot.Mounter{}, ms)
	wantFile(t, filepath.Join(vdir, "keep"), "base")
	wantFile(t, filepath.Join(vdir, "new"), "top")
	wantFile(t, filepath.Join(vdir, "dir", "f"), "changed")
	wantNoFile(t, filepath.Join(vdir, "gone"))
	if err := os.WriteFile(filepath.Join(vdir, "x"), nil, 0o644); !errors.Is(err, unix.EROFS) {
		t.Errorf("write in a view: got %v, want EROFS", err)
	}

	// A view of a single layer, and Mounts returning the same again.
	ms, err = s.View(ctx, "view-base", "base")
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Mounts(ctx, "view-base")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(again) != fmt.Sprint(ms) {
		t.Errorf("Mounts = %+v, Prepare gave %+v", again, ms)
	}
	bdir, _ := mount(t, snapshot.Mounter{}, ms)
	wantFile(t, filepath.Join(bdir, "gone"), "base")
	wantFile(t, filepath.Join(bdir, "dir", "f"), "base")
	wantNoFile(t, filepath.Join(bdir, "new"))
	if err := os.WriteFile(filepath.Join(bdir, "x"), nil, 0o644); !errors.Is(err, unix.EROFS) {
		t.Errorf("write in a single-layer view: got %v, want EROFS", err)
	}

	// A view without parent is an empty read-only directory.
	ms, err = s.View(ctx, "view-empty", "")
	if err != nil {
		t.Fatal(err)
	}
	edir, _ := mount(t, snapshot.Mounter{}, ms)
	if ents, err := os.ReadDir(edir); err != nil || len(ents) != 0 {
		t.Errorf("empty view: %v entries, err %v", len(ents), err)
	}
}

func testActiveIsolated(t *testing.T, newS NewFunc) {
	ctx := context.Background()
	s := newS(t, newRoot(t))
	layer(t, s, "base", "", func(d string) { writeFile(t, filepath.Join(d, "f"), "base") })
	var dirs []string
	for _, k := range []string{"c1", "c2"} {
		ms, err := s.Prepare(ctx, k, "base")
		if err != nil {
			t.Fatal(err)
		}
		d, _ := mount(t, snapshot.Mounter{}, ms)
		dirs = append(dirs, d)
	}
	writeFile(t, filepath.Join(dirs[0], "f"), "c1")
	writeFile(t, filepath.Join(dirs[0], "only-c1"), "c1")
	wantFile(t, filepath.Join(dirs[1], "f"), "base")
	wantNoFile(t, filepath.Join(dirs[1], "only-c1"))
	ms, err := s.View(ctx, "v", "base")
	if err != nil {
		t.Fatal(err)
	}
	v, _ := mount(t, snapshot.Mounter{}, ms)
	wantFile(t, filepath.Join(v, "f"), "base")
	wantNoFile(t, filepath.Join(v, "only-c1"))
}

func testStatKinds(t *testing.T, newS NewFunc) {
	ctx := context.Background()
	s := newS(t, newRoot(t))
	labels := map[string]string{"berth.io/origin": "test"}
	if _, err := s.Prepare(ctx, "a", "", snapshot.WithLabels(labels)); err != nil {
		t.Fatal(err)
	}
	info, err := s.Stat(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if info.Kind != snapshot.KindActive || info.Key != "a" || info.Parent != "" || info.Labels["berth.io/origin"] != "test" || info.Created.IsZero() {
		t.Errorf("stat active: %+v", info)
	}
	if err := s.Commit(ctx, "A", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, "a"); !errors.Is(err, snapshot.ErrNotFound) {
		t.Errorf("stat of committed-away key: %v, want ErrNotFound", err)
	}
	info, err = s.Stat(ctx, "A")
	if err != nil {
		t.Fatal(err)
	}
	if info.Kind != snapshot.KindCommitted || info.Labels["berth.io/origin"] != "test" {
		t.Errorf("stat committed: %+v", info)
	}
	if _, err := s.View(ctx, "v", "A"); err != nil {
		t.Fatal(err)
	}
	info, err = s.Stat(ctx, "v")
	if err != nil {
		t.Fatal(err)
	}
	if info.Kind != snapshot.KindView || info.Parent != "A" {
		t.Errorf("stat view: %+v", info)
	}
	for k, want := range map[snapshot.Kind]string{snapshot.KindActive: "active", snapshot.KindView: "view", snapshot.KindCommitted: "committed", 0: "unknown"} {
		if k.String() != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, k.String(), want)
		}
	}
}

func testErrors(t *testing.T, newS NewFunc) {
	ctx := context.Background()
	root := newRoot(t)
	s := newS(t, root)
	layer(t, s, "base", "", func(string) {})
	if _, err := s.Prepare(ctx, "act", "base"); err != nil {
		t.Fatal(err)
	}
	check := func(what string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %v", what, err, want)
		}
	}
	_, err := s.Prepare(ctx, "act", "base")
	check("prepare existing key", err, snapshot.ErrExists)
	_, err = s.Prepare(ctx, "base", "")
	check("prepare over committed key", err, snapshot.ErrExists)
	_, err = s.Prepare(ctx, "x", "missing")
	check("prepare on missing parent", err, snapshot.ErrNotFound)
	_, err = s.Prepare(ctx, "x", "act")
	check("prepare on active parent", err, snapshot.ErrInvalid)
	_, err = s.View(ctx, "x", "act")
	check("view of active parent", err, snapshot.ErrInvalid)
	_, err = s.Prepare(ctx, "", "")
	check("empty key", err, snapshot.ErrInvalid)
	_, err = s.Prepare(ctx, "nul\x00key", "")
	check("key with NUL", err, snapshot.ErrInvalid)
	check("commit committed", s.Commit(ctx, "b2", "base"), snapshot.ErrInvalid)
	check("commit missing", s.Commit(ctx, "b3", "missing"), snapshot.ErrNotFound)
	check("commit onto existing name", s.Commit(ctx, "base", "act"), snapshot.ErrExists)
	check("commit to empty name", s.Commit(ctx, "", "act"), snapshot.ErrInvalid)
	_, err = s.Mounts(ctx, "base")
	check("mounts of committed", err, snapshot.ErrInvalid)
	_, err = s.Mounts(ctx, "missing")
	check("mounts of missing", err, snapshot.ErrNotFound)
	_, err = s.Stat(ctx, "missing")
	check("stat missing", err, snapshot.ErrNotFound)
	_, err = s.Usage(ctx, "missing")
	check("usage missing", err, snapshot.ErrNotFound)
	check("remove missing", s.Remove(ctx, "missing"), snapshot.ErrNotFound)
	// The failed calls left nothing behind.
	n := 0
	if err := s.Walk(ctx, func(snapshot.Info) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("after failed calls: %d snapshots, want 2", n)
	}
	checkDirs(t, s, root)
}

// checkDirs checks that <root>/snapshots holds one directory per
// snapshot: failed or finished operations left nothing behind.
func checkDirs(t *testing.T, s snapshot.Snapshotter, root string) {
	t.Helper()
	n := 0
	if err := s.Walk(context.Background(), func(snapshot.Info) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(filepath.Join(root, "snapshots"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != n {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("%d directories %v for %d snapshots", len(ents), names, n)
	}
}

func testRemoveOrder(t *testing.T, newS NewFunc) {
	ctx := context.Background()
	root := newRoot(t)
	s := newS(t, root)
	layer(t, s, "l1", "", func(d string) { writeFile(t, filepath.Join(d, "a"), "1") })
	layer(t, s, "l2", "l1", func(d string) { writeFile(t, filepath.Join(d, "b"), "2") })
	if _, err := s.Prepare(ctx, "c", "l2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.View(ctx, "v", "l1"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"l1", "l2"} {
		if err := s.Remove(ctx, k); !errors.Is(err, snapshot.ErrInUse) {
			t.Errorf("remove %s with children: %v, want ErrInUse", k, err)
		}
	}
	for _, k := range []string{"c", "l2", "v", "l1"} {
		if err := s.Remove(ctx, k); err != nil {
			t.Fatalf("remove %s: %v", k, err)
		}
		if _, err := s.Stat(ctx, k); !errors.Is(err, snapshot.ErrNotFound) {
			t.Errorf("stat removed %s: %v", k, err)
		}
	}
	checkDirs(t, s, root)
	// A removed committed key can be made again.
	layer(t, s, "l1", "", func(d string) { writeFile(t, filepath.Join(d, "a"), "again") })
	ms, err := s.View(ctx, "v2", "l1")
	if err != nil {
		t.Fatal(err)
	}
	d, _ := mount(t, snapshot.Mounter{}, ms)
	wantFile(t, filepath.Join(d, "a"), "again")
}

func testWalk(t *testing.T, newS NewFunc) {
	ctx := context.Background()
	s := newS(t, newRoot(t))
	layer(t, s, "l1", "", func(string) {})
	if _, err := s.Prepare(ctx, "c", "l1", snapshot.WithLabels(map[string]string{"k": "v"})); err != nil {
		t.Fatal(err)
	}
	if _, err := s.View(ctx, "v", "l1"); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := s.Walk(ctx, func(i snapshot.Info) error {
		got = append(got, fmt.Sprintf("%s/%s/%s/%s", i.Key, i.Parent, i.Kind, i.Labels["k"]))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	want := []string{"c/l1/active/v", "l1//committed/", "v/l1/view/"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("walk = %v, want %v", got, want)
	}
	// The callback may call the snapshotter, Cleanup included.
	err = s.Walk(ctx, func(i snapshot.Info) error {
		if _, err := s.Stat(ctx, i.Key); err != nil {
			return err
		}
		return s.Cleanup(ctx)
	})
	if err != nil {
		t.Errorf("walk calling back: %v", err)
	}
	stop := errors.New("stop")
	if err := s.Walk(ctx, func(snapshot.Info) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("walk error: %v, want the callback's", err)
	}
}

func testUsageGrows(t *testing.T, newS NewFunc) {
	ctx := context.Background()
	s := newS(t, newRoot(t))
	layer(t, s, "base", "", func(d string) { writeFile(t, filepath.Join(d, "f"), "x") })
	ms, err := s.Prepare(ctx, "c", "base")
	if err != nil {
		t.Fatal(err)
	}
	before, err := s.Usage(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	d, _ := mount(t, snapshot.Mounter{}, ms)
	data := bytes.Repeat([]byte("berth"), 1<<18) // 1.25 MiB
	if err := os.WriteFile(filepath.Join(d, "big"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(d, "big"), filepath.Join(d, "big-link")); err != nil {
		t.Fatal(err)
	}
	after, err := s.Usage(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	grew := after.Size - before.Size
	if grew < int64(len(data)) || grew > 2*int64(len(data)) {
		t.Errorf("usage grew by %d bytes for a %d-byte file and a hard link to it (before %+v, after %+v)", grew, len(data), before, after)
	}
	if after.Inodes != before.Inodes+1 {
		t.Errorf("inodes %d -> %d, want one more (a hard link is not an inode)", before.Inodes, after.Inodes)
	}
}

// chain commits n layers, layer i adding file f<i>, and returns the top's
// name.
func chain(t *testing.T, s snapshot.Snapshotter, n int) string {
	t.Helper()
	parent := ""
	for i := range n {
		name := fmt.Sprintf("sha256:%064d", i)
		layer(t, s, name, parent, func(d string) {
			writeFile(t, filepath.Join(d, fmt.Sprintf("f%d", i)), fmt.Sprint(i))
		})
		parent = name
	}
	return parent
}

func testChain100(t *testing.T, newS NewFunc) {
	ctx := context.Background()
	s := newS(t, newRoot(t))
	top := chain(t, s, 100)
	ms, err := s.Prepare(ctx, "c", top)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := mount(t, snapshot.Mounter{}, ms)
	for _, i := range []int{0, 1, 50, 99} {
		wantFile(t, filepath.Join(d, fmt.Sprintf("f%d", i)), fmt.Sprint(i))
	}
	writeFile(t, filepath.Join(d, "f0"), "mine")
	wantFile(t, filepath.Join(d, "f0"), "mine")
}

// testLongLowerdir mounts a chain whose lowerdir option, with absolute
// paths under a deep root, is far beyond the page mount(2) takes, with
// the default mounter (the new mount API where the kernel has it) and
// with the legacy one (relative short paths).
func testLongLowerdir(t *testing.T, newS NewFunc) {
	ctx := context.Background()
	root := newRoot(t)
	deep := filepath.Join(root, strings.Repeat("d", 200), strings.Repeat("e", 200))
	s := newS(t, deep)
	top := chain(t, s, 60)
	ms, err := s.Prepare(ctx, "c", top)
	if err != nil {
		t.Fatal(err)
	}
	if ms[0].Type == "overlay" {
		if n := len(strings.Join(ms[0].Options, ",")); n <= 4096 {
			t.Fatalf("overlay options are %d bytes; the case needs more than a page", n)
		}
	}
	for _, mr := range []snapshot.Mounter{{}, {LegacyOverlay: true}} {
		t.Run(fmt.Sprintf("legacy=%v", mr.LegacyOverlay), func(t *testing.T) {
			d, unmount := mount(t, mr, ms)
			defer unmount()
			wantFile(t, filepath.Join(d, "f0"), "0")
			wantFile(t, filepath.Join(d, "f59"), "59")
		})
	}
}

func testCleanupOrphans(t *testing.T, newS NewFunc) {
	ctx := context.Background()
	root := newRoot(t)
	s := newS(t, root)
	layer(t, s, "base", "", func(d string) { writeFile(t, filepath.Join(d, "f"), "base") })
	ents, err := os.ReadDir(filepath.Join(root, "snapshots"))
	if err != nil || len(ents) != 1 {
		t.Fatalf("snapshots after one layer: %v, %v", ents, err)
	}
	baseID := ents[0].Name()
	ms, err := s.Prepare(ctx, "c", "base")
	if err != nil {
		t.Fatal(err)
	}
	// A removal killed after it moved the directory aside, before its
	// record was deleted: the snapshot must come back.
	if err := os.Rename(filepath.Join(root, "snapshots", baseID), filepath.Join(root, "snapshots", "rm-"+baseID)); err != nil {
		t.Fatal(err)
	}
	// What a kill -9 leaves: a half-filled new directory, a half-removed
	// one, and a directory whose record was never written.
	var orphans []string
	for _, name := range []string{"new-123456", "rm-77", "999999"} {
		p := filepath.Join(root, "snapshots", name)
		if err := os.MkdirAll(filepath.Join(p, "fs", "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(p, "fs", "sub", "data"), "left over")
		orphans = append(orphans, p)
	}
	if err := s.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range orphans {
		wantNoFile(t, p)
	}
	d, _ := mount(t, snapshot.Mounter{}, ms)
	wantFile(t, filepath.Join(d, "f"), "base")
	if err := s.Cleanup(ctx); err != nil {
		t.Errorf("second cleanup: %v", err)
	}
}

func testReopen(t *testing.T, newS NewFunc) {
	ctx := context.Background()
	root := newRoot(t)
	s := newS(t, root)
	layer(t, s, "base", "", func(d string) { writeFile(t, filepath.Join(d, "f"), "base") })
	ms, err := s.Prepare(ctx, "c", "base", snapshot.WithLabels(map[string]string{"k": "v"}))
	if err != nil {
		t.Fatal(err)
	}
	d, unmount := mount(t, snapshot.Mounter{}, ms)
	writeFile(t, filepath.Join(d, "mine"), "c")
	unmount()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	s = newS(t, root)
	info, err := s.Stat(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	if info.Kind != snapshot.KindActive || info.Parent != "base" || info.Labels["k"] != "v" {
		t.Errorf("after reopen: %+v", info)
	}
	ms, err = s.Mounts(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	d, _ = mount(t, snapshot.Mounter{}, ms)
	wantFile(t, filepath.Join(d, "f"), "base")
	wantFile(t, filepath.Join(d, "mine"), "c")
	// Ids are not reused after a reopen.
	if _, err := s.Prepare(ctx, "c2", "base"); err != nil {
		t.Fatal(err)
	}
	ms2, err := s.Mounts(ctx, "c2")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ms) == fmt.Sprint(ms2) {
		t.Errorf("two snapshots share mounts %+v", ms)
	}
}

func testConcurrentPrepare(t *testing.T, newS NewFunc) {
	ctx := context.Background()
	s := newS(t, newRoot(t))
	layer(t, s, "base", "", func(d string) { writeFile(t, filepath.Join(d, "f"), "base") })
	const n = 16
	var wg sync.WaitGroup
	mounts := make([][]snapshot.Mount, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mounts[i], errs[i] = s.Prepare(ctx, fmt.Sprintf("c%d", i), "base")
			if i%4 == 0 {
				errs[i] = errors.Join(errs[i], s.Cleanup(ctx))
			}
		}()
	}
	wg.Wait()
	seen := make(map[string]bool)
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("prepare c%d: %v", i, errs[i])
		}
		k := applyDir(t, mounts[i])
		if seen[k] {
			t.Errorf("two snapshots write to %s", k)
		}
		seen[k] = true
		d, unmount := mount(t, snapshot.Mounter{}, mounts[i])
		wantFile(t, filepath.Join(d, "f"), "base")
		unmount()
	}
}

// testHostileKeys checks that keys are names, not paths: nothing is
// created outside root whatever they contain.
func testHostileKeys(t *testing.T, newS NewFunc) {
	ctx := context.Background()
	parent := newRoot(t)
	root := filepath.Join(parent, "root")
	s := newS(t, root)
	keys := []string{"../../escape", "/abs/path", "a/../../b", ".", "..", "with,comma", "with:colon", "x\ny", strings.Repeat("k", 4000)}
	for _, k := range keys {
		ms, err := s.Prepare(ctx, k, "")
		if err != nil {
			t.Fatalf("prepare %q: %v", k, err)
		}
		writeFile(t, filepath.Join(applyDir(t, ms), "f"), k)
		if err := s.Commit(ctx, k+"!", k); err != nil {
			t.Fatalf("commit %q: %v", k, err)
		}
		ms, err = s.View(ctx, k, k+"!")
		if err != nil {
			t.Fatalf("view %q: %v", k, err)
		}
		d, unmount := mount(t, snapshot.Mounter{}, ms)
		wantFile(t, filepath.Join(d, "f"), k)
		unmount()
	}
	ents, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "root" {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("created outside root: %v", names)
	}
	if _, err := s.Prepare(ctx, strings.Repeat("k", 5000), ""); !errors.Is(err, snapshot.ErrInvalid) {
		t.Errorf("over-long key: %v, want ErrInvalid", err)
	}
	for _, k := range keys {
		if err := s.Remove(ctx, k); err != nil {
			t.Errorf("remove %q: %v", k, err)
		}
		if err := s.Remove(ctx, k+"!"); err != nil {
			t.Errorf("remove %q: %v", k+"!", err)
		}
	}
}

// testFileAttributes checks that what a layer holds reaches a container
// on top intact: owners, modes with set-id bits, times, xattrs (file
// capabilities), hard links, symlinks, devices and fifos.
func testFileAttributes(t *testing.T, newS NewFunc) {
	ctx := context.Background()
	s := newS(t, newRoot(t))
	var (
		mtime     unix.Timespec
		userXattr bool
	)
	layer(t, s, "base", "", func(d string) {
		p := filepath.Join(d, "suid")
		writeFile(t, p, "x")
		must(t, os.Chown(p, 1000, 1001))
		must(t, unix.Chmod(p, 0o4755))
		capv := []byte{0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
		must(t, unix.Lsetxattr(filepath.Join(d, "suid"), "security.capability", capv, 0))
		// tmpfs before 6.6 has no user xattrs.
		userXattr = unix.Lsetxattr(filepath.Join(d, "suid"), "user.note", []byte("hi"), 0) == nil
		mtime = unix.NsecToTimespec(1_000_000_000_123)
		must(t, unix.UtimesNano(p, []unix.Timespec{mtime, mtime}))
		must(t, os.Link(p, filepath.Join(d, "hard")))
		must(t, os.Symlink("/etc/passwd", filepath.Join(d, "abs-link")))
		must(t, unix.Mknod(filepath.Join(d, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
		must(t, unix.Mkfifo(filepath.Join(d, "fifo"), 0o600))
		must(t, os.Mkdir(filepath.Join(d, "sticky"), 0o755))
		must(t, unix.Chmod(filepath.Join(d, "sticky"), 0o1777))
	})
	ms, err := s.Prepare(ctx, "c", "base")
	if err != nil {
		t.Fatal(err)
	}
	d, _ := mount(t, snapshot.Mounter{}, ms)
	var st unix.Stat_t
	must(t, unix.Lstat(filepath.Join(d, "suid"), &st))
	if st.Uid != 1000 || st.Gid != 1001 || st.Mode&0o7777 != 0o4755 || st.Mtim != mtime || st.Nlink != 2 {
		t.Errorf("suid file: uid %d gid %d mode %#o mtime %v nlink %d", st.Uid, st.Gid, st.Mode&0o7777, st.Mtim, st.Nlink)
	}
	var st2 unix.Stat_t
	must(t, unix.Lstat(filepath.Join(d, "hard"), &st2))
	if st2.Ino != st.Ino {
		t.Errorf("hard link lost: inodes %d and %d", st.Ino, st2.Ino)
	}
	buf := make([]byte, 64)
	if n, err := unix.Lgetxattr(filepath.Join(d, "suid"), "security.capability", buf); err != nil || n != 20 {
		t.Errorf("security.capability: %d bytes, %v", n, err)
	}
	if !userXattr {
		t.Log("no user xattrs on this filesystem: user.note not checked")
	} else if n, err := unix.Lgetxattr(filepath.Join(d, "suid"), "user.note", buf); err != nil || string(buf[:n]) != "hi" {
		t.Errorf("user.note: %q, %v", buf[:max(n, 0)], err)
	}
	if l, err := os.Readlink(filepath.Join(d, "abs-link")); err != nil || l != "/etc/passwd" {
		t.Errorf("symlink: %q, %v", l, err)
	}
	must(t, unix.Lstat(filepath.Join(d, "null"), &st))
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
		t.Errorf("device: mode %#o rdev %#x", st.Mode, st.Rdev)
	}
	must(t, unix.Lstat(filepath.Join(d, "fifo"), &st))
	if st.Mode&unix.S_IFMT != unix.S_IFIFO || st.Mode&0o777 != 0o600 {
		t.Errorf("fifo: mode %#o", st.Mode)
	}
	must(t, unix.Lstat(filepath.Join(d, "sticky"), &st))
	if st.Mode&0o7777 != 0o1777 {
		t.Errorf("sticky dir: mode %#o", st.Mode&0o7777)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
