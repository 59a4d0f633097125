package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// everyKind is a layer with every kind of entry and attribute.
func everyKind(t testing.TB) []byte {
	suid := fileE("bin/su", "#!/bin/true\n", 0o4755)
	suid.h.Uid, suid.h.Gid = 0, 0
	owned := fileE("home/u/file", "data", 0o640)
	owned.h.Uid, owned.h.Gid = 1000, 1001
	xf := fileE("etc/xattrs", "x", 0o644)
	xf.h.PAXRecords = map[string]string{
		"SCHILY.xattr.user.comment":        "hello",
		"SCHILY.xattr.trusted.berth":       "t",
		"SCHILY.xattr.security.capability": "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
	}
	home := dirE("home/u/", 0o700)
	home.h.Uid, home.h.Gid = 1000, 1000
	sticky := dirE("tmp/", 0o1777)
	lnk := symE("bin/sh", "su")
	lnk.h.Uid, lnk.h.Gid = 5, 6
	xdir := dirE("etc/", 0o755)
	xdir.h.PAXRecords = map[string]string{"SCHILY.xattr.user.dir": "d"}
	long := fileE("deep/"+string(bytes.Repeat([]byte("n"), 120))+"/file", "long name", 0o644)
	return mkTar(t,
		dirE("bin/", 0o755), suid, lnk,
		linkE("bin/su-link", "bin/su"),
		dirE("dev/", 0o755),
		nodE("dev/null", tar.TypeChar, 1, 3),
		nodE("dev/loop9", tar.TypeBlock, 7, 9),
		nodE("dev/fifo", tar.TypeFifo, 0, 0),
		xdir, xf,
		dirE("home/", 0o755), home, owned,
		sticky,
		dirE("deep/", 0o755), dirE("deep/"+string(bytes.Repeat([]byte("n"), 120))+"/", 0o755), long,
		symE("abs", "/etc/xattrs"),
		fileE("empty", "", 0o600),
	)
}

func apply(t testing.TB, dir string, layer []byte, w Whiteouts) Result {
	t.Helper()
	res, err := Apply(context.Background(), dir, bytes.NewReader(layer), ApplyOptions{Whiteouts: w})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return res
}

func diff(t testing.TB, upper string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Diff(context.Background(), &buf, upper, DiffOptions{}); err != nil {
		t.Fatalf("diff: %v", err)
	}
	return buf.Bytes()
}

// TestRoundTrip applies a layer with every kind of entry, diffs the tree
// back into a layer, applies that elsewhere and wants the same tree, and
// the same bytes from a second diff.
func TestRoundTrip(t *testing.T) {
	requireRoot(t)
	layer := everyKind(t)
	one, two := t.TempDir(), t.TempDir()
	res := apply(t, one, layer, WhiteoutsOverlay)
	if want := digest.FromBytes(layer); res.DiffID != want || res.Size != int64(len(layer)) || res.Compression != None {
		t.Fatalf("result %+v, want %s size %d", res, want, len(layer))
	}
	d1 := describe(t, one)

	// What the tree holds is what the tar said.
	for name, want := range map[string]string{
		"bin/su":      "type=100000 mode=4755 own=0:0",
		"home/u/file": "type=100000 mode=640 own=1000:1001",
		"home/u":      "type=40000 mode=700 own=1000:1000",
		"tmp":         "type=40000 mode=1777 own=0:0",
		"bin/sh":      "type=120000 mode=777 own=5:6",
		"dev/null":    "type=20000 mode=644 own=0:0",
		"dev/loop9":   "type=60000 mode=644 own=0:0",
		"dev/fifo":    "type=10000 mode=644 own=0:0",
	} {
		if got := d1[name]; len(got) < len(want) || got[:len(want)] != want {
			t.Errorf("%s: got %q, want prefix %q", name, got, want)
		}
	}
	for name, want := range map[string]string{
		"bin/su-link": "link=bin/su",
		"dev/null":    "dev=1:3",
		"dev/loop9":   "dev=7:9",
		"etc/xattrs":  `xattr:user.comment="hello"`,
		"etc":         `xattr:user.dir="d"`,
		"abs":         "-> /etc/xattrs",
	} {
		if !bytes.Contains([]byte(d1[name]), []byte(want)) {
			t.Errorf("%s: got %q, want it to contain %q", name, d1[name], want)
		}
	}
	if !bytes.Contains([]byte(d1["etc/xattrs"]), []byte("trusted.berth")) || !bytes.Contains([]byte(d1["etc/xattrs"]), []byte("security.capability")) {
		t.Errorf("etc/xattrs lost trusted or security xattrs: %q", d1["etc/xattrs"])
	}
	if got := dirMtime(t, filepath.Join(one, "home/u")); !got.Equal(testTime) {
		t.Errorf("home/u mtime %v, want %v (directory times are set after their contents)", got, testTime)
	}
	if _, ok := d1["bin/su"]; !ok || !bytes.Contains([]byte(d1["bin/su"]), []byte(fmt.Sprintf("mtime=%d.", testTime.Unix()))) {
		t.Errorf("bin/su mtime: %q", d1["bin/su"])
	}

	out := diff(t, one)
	apply(t, two, out, WhiteoutsOverlay)
	if d := diffTrees(d1, describe(t, two)); d != "" {
		t.Fatalf("round trip changed the tree:\n%s", d)
	}
	if again := diff(t, two); !bytes.Equal(out, again) {
		t.Fatalf("diff of the round-tripped tree differs: %d vs %d bytes", len(out), len(again))
	}
}

// TestCompression detects plain, gzip and zstd streams, and the DiffID
// is the digest of the uncompressed tar, trailing padding included.
func TestCompression(t *testing.T) {
	requireRoot(t)
	plain := append(mkTar(t, fileE("a", "hello", 0o644)), make([]byte, 10240)...)
	want := digest.FromBytes(plain)
	for _, c := range []Compression{None, Gzip, Zstd} {
		t.Run(c.String(), func(t *testing.T) {
			var buf bytes.Buffer
			w, err := CompressStream(&buf, c)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(plain)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			rc, got, err := DecompressStream(bytes.NewReader(buf.Bytes()))
			if err != nil || got != c {
				t.Fatalf("DecompressStream: %v, %v; want %v", got, err, c)
			}
			rc.Close()
			dir := t.TempDir()
			res := apply(t, dir, buf.Bytes(), WhiteoutsMerge)
			if res.DiffID != want || res.Size != int64(len(plain)) || res.Compression != c {
				t.Fatalf("result %+v, want %s size %d", res, want, len(plain))
			}
			if b, err := os.ReadFile(filepath.Join(dir, "a")); err != nil || string(b) != "hello" {
				t.Fatalf("a = %q, %v", b, err)
			}
			// Compressing the same tar twice gives the same bytes.
			var again bytes.Buffer
			w2, _ := CompressStream(&again, c)
			w2.Write(plain)
			w2.Close()
			if !bytes.Equal(buf.Bytes(), again.Bytes()) {
				t.Fatalf("%v output is not reproducible", c)
			}
		})
	}
	for name, head := range map[string][]byte{"bzip2": []byte("BZh91AY"), "xz": {0xfd, '7', 'z', 'X', 'Z', 0, 0}} {
		if _, _, err := DecompressStream(bytes.NewReader(head)); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

// TestWhiteoutsOverlay turns OCI whiteouts into overlayfs ones, and
// checks with a real overlay mount that they hide the lower layer.
func TestWhiteoutsOverlay(t *testing.T) {
	requireRoot(t)
	lower, upper := t.TempDir(), t.TempDir()
	apply(t, lower, mkTar(t,
		fileE("gone", "x", 0o644),
		dirE("d/", 0o755), fileE("d/old", "old", 0o644), fileE("d/keep", "lower", 0o644),
		dirE("e/", 0o755), fileE("e/stay", "stay", 0o644),
	), WhiteoutsMerge)
	apply(t, upper, mkTar(t,
		fileE(".wh.gone", "", 0),
		dirE("d/", 0o755), fileE("d/keep", "upper", 0o644), fileE("d/.wh..wh..opq", "", 0),
		fileE("e/.wh.nothing", "", 0),
		dirE("x/", 0o755), fileE("x/.wh..wh..opq", "", 0),
	), WhiteoutsOverlay)

	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(upper, "gone"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Fatalf("gone is not a 0:0 char device: %v %o %d", err, st.Mode, st.Rdev)
	}
	for _, d := range []string{"d", "x"} {
		v := make([]byte, 8)
		n, err := unix.Lgetxattr(filepath.Join(upper, d), overlayOpaque, v)
		if err != nil || string(v[:n]) != "y" {
			t.Fatalf("%s opaque xattr %q, %v", d, v[:n], err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(upper, "d/keep")); string(b) != "upper" {
		t.Fatalf("d/keep = %q: the layer's own entry must survive its opaque marker", b)
	}
	// e exists in the upper only because of its whiteout; made 0755.
	if _, err := os.Lstat(filepath.Join(upper, "e/nothing")); err != nil {
		t.Fatalf("e/nothing whiteout: %v", err)
	}

	// Diff gives the OCI form back.
	names := tarNames(t, diff(t, upper))
	want := []string{"d/", "d/.wh..wh..opq", "d/keep", "e/", "e/.wh.nothing", ".wh.gone", "x/", "x/.wh..wh..opq"}
	slices.Sort(want)
	got := slices.Clone(names)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("diff entries %v, want %v", names, want)
	}

	// overlayfs agrees.
	merged, work := t.TempDir(), t.TempDir()
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work)
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Skipf("overlay mount: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(merged, unix.MNT_DETACH) })
	for p, want := range map[string]string{"gone": "", "d/old": "", "d/keep": "upper", "e/stay": "stay"} {
		b, err := os.ReadFile(filepath.Join(merged, p))
		if want == "" {
			if !errors.Is(err, os.ErrNotExist) {
				t.Errorf("merged %s visible (%v)", p, err)
			}
		} else if string(b) != want {
			t.Errorf("merged %s = %q, %v; want %q", p, b, err, want)
		}
	}
}

// TestWhiteoutsMerge deletes for whiteouts, and an opaque directory
// keeps this layer's own entries (before or after the marker, and inside
// directories the layer only implies) while lower ones go.
func TestWhiteoutsMerge(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	apply(t, dir, mkTar(t,
		fileE("gone", "x", 0o644), dirE("gonedir/", 0o755), fileE("gonedir/f", "f", 0o644),
		dirE("d/", 0o755), fileE("d/old", "old", 0o644), fileE("d/keep", "lower", 0o644),
		dirE("d/sub/", 0o755), fileE("d/sub/lowerfile", "l", 0o644),
		fileE("replaced", "lower", 0o644),
	), WhiteoutsMerge)
	apply(t, dir, mkTar(t,
		fileE(".wh.gone", "", 0), fileE(".wh.gonedir", "", 0), fileE(".wh.never", "", 0),
		fileE("replaced", "upper", 0o644), fileE(".wh.replaced", "", 0),
		dirE("d/", 0o755), fileE("d/keep", "upper", 0o644), fileE("d/sub/new", "n", 0o644),
		fileE("d/.wh..wh..opq", "", 0),
		fileE("d/after", "a", 0o644),
	), WhiteoutsMerge)
	got := describe(t, dir)
	var names []string
	for k := range got {
		names = append(names, k)
	}
	slices.Sort(names)
	want := []string{"d", "d/after", "d/keep", "d/sub", "d/sub/new", "replaced"}
	if !slices.Equal(names, want) {
		t.Fatalf("tree %v, want %v", names, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "replaced")); string(b) != "upper" {
		t.Fatalf("replaced = %q: a whiteout must not delete its own layer's entry", b)
	}
}

// TestReplace covers an entry replacing another of a different type.
func TestReplace(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	apply(t, dir, mkTar(t,
		dirE("a/", 0o755), fileE("a/f", "f", 0o644),
		fileE("a", "now a file", 0o644),   // a directory replaced by a file
		symE("b", "a"), dirE("b/", 0o700), // a symlink replaced by a directory
		fileE("c", "1", 0o644), fileE("c", "22", 0o600), // a file twice
		dirE("e/", 0o755), dirE("e/", 0o711), // a directory merged
	), WhiteoutsMerge)
	d := describe(t, dir)
	if !bytes.Contains([]byte(d["a"]), []byte("type=100000")) || !bytes.Contains([]byte(d["b"]), []byte("type=40000 mode=700")) ||
		!bytes.Contains([]byte(d["c"]), []byte("mode=600")) || !bytes.Contains([]byte(d["e"]), []byte("mode=711")) {
		t.Fatalf("tree: %v", d)
	}
	sum := sha256.Sum256([]byte("22"))
	if !bytes.Contains([]byte(d["c"]), []byte(fmt.Sprintf("%x", sum))) {
		t.Fatalf("c: %s", d["c"])
	}
}

// TestRootEntryIgnored leaves the snapshot's own mode alone.
func TestRootEntryIgnored(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o711)
	apply(t, dir, mkTar(t, dirE("./", 0o777), dirE("/", 0o777), fileE("./x", "x", 0o644)), WhiteoutsMerge)
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o711 {
		t.Fatalf("root mode %v", fi.Mode())
	}
}

// TestApplyNoSameOwner leaves entries owned by the caller.
func TestApplyNoSameOwner(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	f := fileE("f", "x", 0o4755)
	f.h.Uid, f.h.Gid = 123, 456
	if _, err := Apply(context.Background(), dir, bytes.NewReader(mkTar(t, f)), ApplyOptions{Whiteouts: WhiteoutsMerge, NoSameOwner: true}); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	unix.Lstat(filepath.Join(dir, "f"), &st)
	if st.Uid != 0 || st.Gid != 0 || st.Mode&0o7777 != 0o4755 {
		t.Fatalf("owner %d:%d mode %o", st.Uid, st.Gid, st.Mode&0o7777)
	}
}

// TestApplyCancel stops on a cancelled context.
func TestApplyCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Apply(ctx, t.TempDir(), bytes.NewReader(mkTar(t, fileE("f", "x", 0o644))), ApplyOptions{Whiteouts: WhiteoutsMerge})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

// TestApplyModeRequired refuses an unset whiteout mode.
func TestApplyModeRequired(t *testing.T) {
	if _, err := Apply(context.Background(), t.TempDir(), bytes.NewReader(nil), ApplyOptions{}); err == nil {
		t.Fatal("no error without a whiteout mode")
	}
}
