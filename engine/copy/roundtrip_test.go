package copy

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// mkSample builds a tree with every kind of entry a copy carries, with
// owners, modes and times that differ from the defaults.
func mkSample(t testing.TB, dir string, setid bool) {
	t.Helper()
	d := filepath.Join(dir, "d")
	must(t, os.MkdirAll(filepath.Join(d, "sub", "deep"), 0o755))
	must(t, os.WriteFile(filepath.Join(d, "file"), []byte("hello"), 0o640))
	must(t, os.WriteFile(filepath.Join(d, "sub", "deep", "big"), bytes.Repeat([]byte("0123456789"), 50000), 0o600))
	must(t, os.WriteFile(filepath.Join(d, "empty"), nil, 0o444))
	must(t, os.Symlink("file", filepath.Join(d, "rel-link")))
	must(t, os.Symlink("/etc/passwd", filepath.Join(d, "abs-link")))
	must(t, os.Symlink("missing", filepath.Join(d, "dangling")))
	must(t, os.Link(filepath.Join(d, "file"), filepath.Join(d, "sub", "hard")))
	must(t, unix.Mkfifo(filepath.Join(d, "fifo"), 0o620))
	if setid {
		must(t, os.WriteFile(filepath.Join(d, "suid"), []byte("#!"), 0o755))
		must(t, unix.Chmod(filepath.Join(d, "suid"), 0o4755))
		must(t, unix.Chmod(filepath.Join(d, "sub"), 0o3775))
	}
	must(t, os.Lchown(filepath.Join(d, "file"), 1000, 1001))
	must(t, os.Lchown(filepath.Join(d, "rel-link"), 1002, 1003))
	must(t, os.Lchown(filepath.Join(d, "sub"), 1004, 1005))
	must(t, os.Lchown(filepath.Join(d, "fifo"), 7, 8))
	must(t, unix.Chmod(filepath.Join(d, "sub", "deep"), 0o750))
	// Times last, children first, so directory mtimes stay as set.
	for i, p := range []string{"sub/deep/big", "sub/deep", "sub/hard", "sub", "file", "empty", "rel-link", "abs-link", "dangling", "fifo", "."} {
		ts := []unix.Timespec{{Sec: 1600000000 + int64(i), Nsec: 123456789}, {Sec: 1500000000 + int64(i)*7, Nsec: 987654321}}
		must(t, unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(d, p), ts, unix.AT_SYMLINK_NOFOLLOW))
	}
}

// TestRoundTripContainer copies a tree out of a container and into
// another one: modes (set-id bits too), owners, mtimes to the nanosecond,
// symlinks, hardlinks and FIFOs survive.
func TestRoundTripContainer(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	a, b := newSandbox(t), newSandbox(t)
	mkSample(t, a.rootfs, true)
	var buf bytes.Buffer
	st, err := FromContainer(ctx, a.rootfs, "/d", &buf)
	must(t, err)
	if st.Name != "d" || !st.Mode.IsDir() {
		t.Fatalf("stat = %+v", st)
	}
	src := st.Source()
	must(t, ToContainer(ctx, b.rootfs, "/", &buf, ToOptions{Source: &src, NoOverwriteDirNonDir: true}))
	want, got := treeInfo(t, filepath.Join(a.rootfs, "d"), true), treeInfo(t, filepath.Join(b.rootfs, "d"), true)
	if len(want) != 11 {
		t.Fatalf("sample tree has %d entries: %v", len(want), want)
	}
	if !mapsEqual(want, got) {
		t.Fatalf("tree differs after copy:\nwant %v\ngot  %v", want, got)
	}
	a.check(t)
	b.check(t)
}

// TestRoundTripHost goes host → container → host: the host end keeps
// modes, mtimes, links; entries are owned by the caller there.
func TestRoundTripHost(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	s := newSandbox(t)
	host := t.TempDir()
	mkSample(t, host, false)

	var up bytes.Buffer
	src, err := TarHost(ctx, &up, filepath.Join(host, "d"), false)
	must(t, err)
	if src != (Source{Base: "d", IsDir: true}) {
		t.Fatalf("source = %+v", src)
	}
	must(t, ToContainer(ctx, s.rootfs, "/srv", &up, ToOptions{Source: &src}))
	// /srv did not exist: the directory is created under that name.
	want := treeInfo(t, filepath.Join(host, "d"), true)
	if got := treeInfo(t, filepath.Join(s.rootfs, "srv"), true); !mapsEqual(want, got) {
		t.Fatalf("container tree differs:\nwant %v\ngot  %v", want, got)
	}

	var down bytes.Buffer
	st, err := FromContainer(ctx, s.rootfs, "/srv", &down)
	must(t, err)
	out := t.TempDir()
	must(t, ExtractHost(ctx, &down, st.Source(), filepath.Join(out, "back"), HostOptions{}))
	want = treeInfo(t, filepath.Join(host, "d"), false)
	if got := treeInfo(t, filepath.Join(out, "back"), false); !mapsEqual(want, got) {
		t.Fatalf("host tree differs:\nwant %v\ngot  %v", want, got)
	}
	var fst unix.Stat_t
	must(t, unix.Lstat(filepath.Join(out, "back", "file"), &fst))
	if fst.Uid != uint32(os.Geteuid()) {
		t.Fatalf("host copy owned by %d, want the caller", fst.Uid)
	}
	s.check(t)
}

// TestFromContainerNames checks Docker's entry names and stats.
func TestFromContainerNames(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	must(t, os.MkdirAll(filepath.Join(s.rootfs, "d", "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(s.rootfs, "d", "sub", "f"), []byte("x"), 0o644))
	must(t, os.Symlink("d", filepath.Join(s.rootfs, "ld")))
	must(t, os.Symlink("/d/sub/f", filepath.Join(s.rootfs, "lf")))
	for _, tc := range []struct {
		path, name, link string
		follow           bool
		names            []string
	}{
		{path: "/d", name: "d", names: []string{"d/", "d/sub/", "d/sub/f"}},
		{path: "d", name: "d", names: []string{"d/", "d/sub/", "d/sub/f"}},
		{path: "/d/", name: "d", names: []string{"d/", "d/sub/", "d/sub/f"}},
		{path: "/d/.", name: ".", names: []string{"./", "./sub/", "./sub/f"}},
		{path: "/d/sub/f", name: "f", names: []string{"f"}},
		{path: "/ld", name: "ld", link: "/d", names: []string{"ld"}},
		{path: "/ld/", name: "ld", names: []string{"ld/", "ld/sub/", "ld/sub/f"}},
		{path: "/ld/.", name: ".", names: []string{"./", "./sub/", "./sub/f"}},
		{path: "/ld", name: "ld", follow: true, names: []string{"ld/", "ld/sub/", "ld/sub/f"}},
		{path: "/lf", name: "lf", link: "/d/sub/f", names: []string{"lf"}},
		{path: "/lf", name: "lf", follow: true, names: []string{"lf"}},
		{path: "/evil", name: "evil", link: "/", names: []string{"evil"}},
		{path: "/evil3", name: "evil3", link: "/outside", names: []string{"evil3"}},
	} {
		var buf bytes.Buffer
		st, err := FromContainerWith(context.Background(), s.rootfs, tc.path, &buf, FromOptions{FollowLink: tc.follow})
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if st.Name != tc.name || st.LinkTarget != tc.link {
			t.Errorf("%s: stat %+v, want name %q link %q", tc.path, st, tc.name, tc.link)
		}
		if got := tarNames(t, buf.Bytes()); !equal(got, tc.names) {
			t.Errorf("%s (follow %v): names %q, want %q", tc.path, tc.follow, got, tc.names)
		}
	}
	for _, p := range []string{"/nope", "/d/nope", "/nope/x", "/d/sub/f/", "/evil4/secret"} {
		var buf bytes.Buffer
		_, err := FromContainer(context.Background(), s.rootfs, p, &buf)
		if err == nil || buf.Len() != 0 {
			t.Errorf("%s: err %v, %d bytes written", p, err, buf.Len())
		}
	}
	_, _, err := fromC(t, s.rootfs, "/nope")
	wantErr(t, err, ErrNotFound)
	st, err := StatPath(context.Background(), s.rootfs, "/")
	must(t, err)
	if st.Name != "/" || !st.Mode.IsDir() {
		t.Errorf("stat / = %+v", st)
	}
	h, err := st.Header()
	must(t, err)
	if h == "" {
		t.Error("empty stat header")
	}
	st, err = StatPath(context.Background(), s.rootfs, "/d/sub/f")
	must(t, err)
	if st.Size != 1 || st.Mode != 0o644 || st.Mtime.Before(time.Now().Add(-time.Hour)) {
		t.Errorf("stat f = %+v", st)
	}
	s.check(t)
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
