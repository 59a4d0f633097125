package copier

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// testdata/arch.tar.{bz2,xz} hold a.txt ("hello\n", 0640) and sub/b.txt
// ("deep\n"), owned 1234:2345, mtime 2020-01-02 03:04:05 UTC, made with
// GNU tar, bzip2 and xz.
var archTime = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

// plainArch rebuilds the same archive with archive/tar.
func plainArch(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "a.txt", Mode: 0o640, Size: 6, Uid: 1234, Gid: 2345, ModTime: archTime, Typeflag: tar.TypeReg},
		{Name: "sub/", Mode: 0o755, Uid: 1234, Gid: 2345, ModTime: archTime, Typeflag: tar.TypeDir},
		{Name: "sub/b.txt", Mode: 0o644, Size: 5, Uid: 1234, Gid: 2345, ModTime: archTime, Typeflag: tar.TypeReg},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		body := map[string]string{"a.txt": "hello\n", "sub/b.txt": "deep\n"}[h.Name]
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestAddExtractsArchives(t *testing.T) {
	requireRoot(t)
	src := t.TempDir()
	plain := plainArch(t)
	var gz, zs, xzb bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(plain)
	gw.Close()
	zw, _ := zstd.NewWriter(&zs)
	zw.Write(plain)
	zw.Close()
	xw, _ := xz.NewWriter(&xzb)
	xw.Write(plain)
	xw.Close()
	files := map[string][]byte{"p.tar": plain, "g.tgz": gz.Bytes(), "z.tar.zst": zs.Bytes(), "x.txz": xzb.Bytes()}
	for _, n := range []string{"arch.tar.bz2", "arch.tar.xz"} {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			t.Fatal(err)
		}
		files[n] = b
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(src, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name := range files {
		dst := t.TempDir()
		if err := doCopy(t, src, []string{name}, dst, "/out", Options{ExtractArchives: true}); err != nil {
			t.Fatalf("ADD %s: %v", name, err)
		}
		if got := readFile(t, filepath.Join(dst, "out/a.txt")); got != "hello\n" {
			t.Fatalf("ADD %s: a.txt = %q", name, got)
		}
		if got := readFile(t, filepath.Join(dst, "out/sub/b.txt")); got != "deep\n" {
			t.Fatalf("ADD %s: sub/b.txt = %q", name, got)
		}
		if uid, gid := ownerOf(t, filepath.Join(dst, "out/a.txt")); uid != 1234 || gid != 2345 {
			t.Errorf("ADD %s: owner %d:%d, want the archive's 1234:2345", name, uid, gid)
		}
		if m := modeOf(t, filepath.Join(dst, "out/a.txt")).Perm(); m != 0o640 {
			t.Errorf("ADD %s: mode %o", name, m)
		}
		if mt := mtimeOf(t, filepath.Join(dst, "out/a.txt")); !mt.Equal(archTime) {
			t.Errorf("ADD %s: mtime %v", name, mt)
		}
		mustNotExist(t, filepath.Join(dst, "out", name))
		// COPY never unpacks.
		dst2 := t.TempDir()
		if err := doCopy(t, src, []string{name}, dst2, "/out/", Options{}); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, filepath.Join(dst2, "out", name)); got != string(files[name]) {
			t.Fatalf("COPY %s changed the archive", name)
		}
	}
	// A gzip file that is not a tar is copied as it is.
	var notTar bytes.Buffer
	gw = gzip.NewWriter(&notTar)
	gw.Write([]byte("just text"))
	gw.Close()
	os.WriteFile(filepath.Join(src, "note.gz"), notTar.Bytes(), 0o644)
	dst := t.TempDir()
	if err := doCopy(t, src, []string{"note.gz"}, dst, "/n/", Options{ExtractArchives: true}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dst, "n/note.gz")); got != notTar.String() {
		t.Fatal("non-tar gzip was not copied as is")
	}
}

func TestAddURL(t *testing.T) {
	requireRoot(t)
	lm := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/files/tool.tar":
			w.Header().Set("Last-Modified", lm.Format(http.TimeFormat))
			w.Write(plainArch(t))
		case "/":
			w.Write([]byte("index"))
		case "/plain":
			w.Write([]byte("no date"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	dst := t.TempDir()
	if err := doCopy(t, "", []string{srv.URL + "/files/tool.tar"}, dst, "/dl/", Options{ExtractArchives: true}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dst, "dl/tool.tar")
	if got := readFile(t, p); got != string(plainArch(t)) {
		t.Fatal("downloaded tar was changed (URLs are never unpacked)")
	}
	if m := modeOf(t, p).Perm(); m != 0o600 {
		t.Errorf("downloaded mode %o, want 600", m)
	}
	if mt := mtimeOf(t, p); !mt.Equal(lm) {
		t.Errorf("downloaded mtime %v, want Last-Modified %v", mt, lm)
	}
	if err := doCopy(t, "", []string{srv.URL + "/plain"}, dst, "/named", Options{ExtractArchives: true}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dst, "named")); got != "no date" {
		t.Fatalf("named = %q", got)
	}
	err := doCopy(t, "", []string{srv.URL + "/missing"}, dst, "/m", Options{ExtractArchives: true})
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("404: %v", err)
	}
	if err := doCopy(t, "", []string{srv.URL + "/"}, dst, "/d/", Options{ExtractArchives: true}); err == nil || !strings.Contains(err.Error(), "file name") {
		t.Fatalf("URL without a name into a directory: %v", err)
	}
	// A port nobody listens on: a clear error naming the URL.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := fmt.Sprintf("http://%s/x", l.Addr())
	l.Close()
	err = doCopy(t, "", []string{dead}, dst, "/x", Options{ExtractArchives: true})
	if err == nil || !strings.Contains(err.Error(), dead) || !strings.Contains(err.Error(), "cannot reach") {
		t.Fatalf("unreachable URL: %v", err)
	}
	mustNotExist(t, filepath.Join(dst, "x"))
}
