package copy

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// requireRoot skips tests that chown, mknod or set times on others' files.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (chown, mknod, file ownership round trips)")
	}
}

// sandbox is a test area: a container root filesystem and, next to it,
// an outside directory holding sentinel files that no copy may read or
// change.
type sandbox struct {
	base, rootfs, outside string
	before                map[string]string
}

// sentinel is the content of the outside files; finding it in a copy's
// output means the copy read outside the root.
const sentinel = "SENTINEL-OUTSIDE-THE-ROOT"

func newSandbox(t testing.TB) *sandbox {
	t.Helper()
	base := t.TempDir()
	s := &sandbox{base: base, rootfs: filepath.Join(base, "rootfs"), outside: filepath.Join(base, "outside")}
	must(t, os.MkdirAll(filepath.Join(s.rootfs, "etc"), 0o755))
	must(t, os.MkdirAll(filepath.Join(s.outside, "etc"), 0o755))
	must(t, os.WriteFile(filepath.Join(s.outside, "secret"), []byte(sentinel), 0o644))
	must(t, os.WriteFile(filepath.Join(s.outside, "etc", "x"), []byte(sentinel), 0o644))
	must(t, os.WriteFile(filepath.Join(s.rootfs, "etc", "x"), []byte("inside"), 0o644))
	// Links that point out of the root if followed on the host.
	must(t, os.Symlink("/", filepath.Join(s.rootfs, "evil")))
	must(t, os.Symlink("../../../../", filepath.Join(s.rootfs, "evil2")))
	must(t, os.Symlink("../outside", filepath.Join(s.rootfs, "evil3")))
	must(t, os.Symlink(s.outside, filepath.Join(s.rootfs, "evil4")))
	s.before = snapshot(t, s.outside)
	return s
}

// check fails the test if anything under outside changed, or if anything
// but rootfs and outside appeared in the base directory.
func (s *sandbox) check(t testing.TB) {
	t.Helper()
	after := snapshot(t, s.outside)
	if !mapsEqual(s.before, after) {
		t.Fatalf("outside directory changed:\nbefore %v\nafter  %v", s.before, after)
	}
	ents, err := os.ReadDir(s.base)
	must(t, err)
	for _, e := range ents {
		if e.Name() != "rootfs" && e.Name() != "outside" {
			t.Fatalf("copy created %s outside the root", filepath.Join(s.base, e.Name()))
		}
	}
}

// snapshot maps every path below dir to its type, mode, size, content and
// mtime.
func snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		v := fi.Mode().String() + " " + fi.ModTime().String()
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += " " + string(b)
		}
		rel, _ := filepath.Rel(dir, p)
		m[rel] = v
		return nil
	})
	must(t, err)
	return m
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// tarNames lists the entry names of a tar stream.
func tarNames(t testing.TB, b []byte) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		must(t, err)
		names = append(names, h.Name)
	}
}

// tarEntry is one entry of a tar built by mkTar.
type tarEntry struct {
	name, link, body string
	typ              byte
	mode             int64
	uid, gid         int
	xattrs           map[string]string
}

// mkTar builds a tar stream.
func mkTar(t testing.TB, ents ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, Uid: e.uid, Gid: e.gid,
			ModTime: time.Unix(1500000000, 0), Size: int64(len(e.body)), Format: tar.FormatPAX}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		for k, v := range e.xattrs {
			if h.PAXRecords == nil {
				h.PAXRecords = map[string]string{}
			}
			h.PAXRecords[paxXattr+k] = v
		}
		must(t, tw.WriteHeader(h))
		if h.Size > 0 {
			_, err := tw.Write([]byte(e.body))
			must(t, err)
		}
	}
	must(t, tw.Close())
	return buf.Bytes()
}

// treeInfo describes every entry below dir: type, mode, owner, mtime,
// size, content or link target, and which entries share an inode.
func treeInfo(t testing.TB, dir string, owners bool) map[string]string {
	t.Helper()
	m := map[string]string{}
	inodes := map[uint64]string{}
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		names = append(names, p)
		return nil
	})
	must(t, err)
	sort.Strings(names)
	for _, p := range names {
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			continue
		}
		var st unix.Stat_t
		must(t, unix.Lstat(p, &st))
		v := fileMode(st.Mode).String()
		if owners {
			v += " " + strconv.Itoa(int(st.Uid)) + ":" + strconv.Itoa(int(st.Gid))
		}
		v += " " + time.Unix(st.Mtim.Sec, st.Mtim.Nsec).UTC().String()
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			b, err := os.ReadFile(p)
			must(t, err)
			v += fmt.Sprintf(" sha256:%x", sha256.Sum256(b))
			if st.Nlink > 1 {
				if first, ok := inodes[st.Ino]; ok {
					v += " linkto=" + first
				} else {
					inodes[st.Ino] = rel
				}
			}
		case unix.S_IFLNK:
			l, err := os.Readlink(p)
			must(t, err)
			v += " -> " + l
		}
		m[rel] = v
	}
	return m
}

// fromC runs FromContainer into a buffer.
func fromC(t testing.TB, rootfs, p string) ([]byte, Stat, error) {
	t.Helper()
	var buf bytes.Buffer
	st, err := FromContainer(context.Background(), rootfs, p, &buf)
	return buf.Bytes(), st, err
}

// wantErr fails unless err wraps target.
func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

func mkfifo(p string) error { return unix.Mkfifo(p, 0o644) }

// checkOwners checks the uid and gid of paths below dir.
func checkOwners(t testing.TB, dir string, want map[string][2]int) {
	t.Helper()
	for p, w := range want {
		var st unix.Stat_t
		must(t, unix.Lstat(filepath.Join(dir, p), &st))
		if int(st.Uid) != w[0] || int(st.Gid) != w[1] {
			t.Errorf("%s owned by %d:%d, want %d:%d", p, st.Uid, st.Gid, w[0], w[1])
		}
	}
}

// quiet is a logger that drops the expected warnings of hostile tests.
func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }
