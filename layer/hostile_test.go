package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// jail is the scene of a hostile-layer test: the target root sits three
// directories down in a test directory that also holds a sentinel file,
// so that any escape through "..", absolute paths or links lands in
// directories the test made, where check sees it.
type jail struct {
	base, root, sentinel string
}

func newJail(t testing.TB) *jail {
	t.Helper()
	base := t.TempDir()
	j := &jail{base: base, root: filepath.Join(base, "a", "b", "root"), sentinel: filepath.Join(base, "sentinel")}
	if err := os.MkdirAll(j.root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(j.sentinel, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	return j
}

// outside lists everything under base that is not under root.
func (j *jail) outside(t testing.TB) []string {
	t.Helper()
	var got []string
	filepath.Walk(j.base, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == j.base {
			return nil
		}
		if p == j.root {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(j.base, p)
		got = append(got, rel)
		return nil
	})
	sort.Strings(got)
	return got
}

// check fails the test if anything outside the root was made or touched.
func (j *jail) check(t testing.TB) {
	t.Helper()
	if got, want := j.outside(t), []string{"a", "a/b", "sentinel"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("entries outside the root: %v, want %v", got, want)
	}
	var st unix.Stat_t
	if err := unix.Lstat(j.sentinel, &st); err != nil {
		t.Fatalf("sentinel: %v", err)
	}
	b, _ := os.ReadFile(j.sentinel)
	if string(b) != "keep" || st.Nlink != 1 || st.Mode&0o7777 != 0o600 || st.Uid != uint32(os.Geteuid()) {
		t.Fatalf("sentinel touched: %q nlink=%d mode=%o uid=%d", b, st.Nlink, st.Mode&0o7777, st.Uid)
	}
	for _, p := range []string{j.sentinel, j.base, filepath.Join(j.base, "a"), filepath.Join(j.base, "a", "b")} {
		if fi, err := os.Lstat(p); err != nil || (p != j.sentinel && !fi.IsDir()) {
			t.Fatalf("%s replaced: %v", p, err)
		}
		if xs, err := pathXattrs(p); err != nil || len(xs) != 0 {
			t.Fatalf("%s xattrs changed: %v %v", p, xs, err)
		}
	}
}

// TestHostile applies layers built to escape or damage the target and
// wants each refused with an error naming the guilty entry (or, where
// the package documents it, confined inside the root), and nothing
// outside the root made or changed.
func TestHostile(t *testing.T) {
	requireRoot(t)
	type tc struct {
		name string
		// layer builds the tar; base is the test directory (absolute).
		layer func(t testing.TB, j *jail) []byte
		opts  ApplyOptions
		// wantErr is a substring of the error, "" for success.
		wantErr string
		// is, when set, must be in the error chain.
		is error
		// inside, when set, checks the root after a success.
		inside func(t *testing.T, j *jail)
	}
	abs := func(j *jail) string { return strings.TrimPrefix(j.base, "/") }
	exists := func(rel string) func(t *testing.T, j *jail) {
		return func(t *testing.T, j *jail) {
			rel := strings.ReplaceAll(rel, "$BASE", abs(j))
			if _, err := os.Lstat(filepath.Join(j.root, rel)); err != nil {
				t.Fatalf("want %s inside the root: %v", rel, err)
			}
		}
	}
	cases := []tc{
		{name: "dotdot", layer: func(t testing.TB, j *jail) []byte { return mkTar(t, fileE("../x", "x", 0o644)) },
			wantErr: `"../x"`, is: ErrBreakout},
		{name: "abs dotdot", layer: func(t testing.TB, j *jail) []byte { return mkTar(t, fileE("/abs/../../x", "x", 0o644)) },
			wantErr: `"/abs/../../x"`, is: ErrBreakout},
		{name: "inner dotdot", layer: func(t testing.TB, j *jail) []byte { return mkTar(t, fileE("a/../../x", "x", 0o644)) },
			wantErr: `"a/../../x"`, is: ErrBreakout},
		{name: "deep dotdot dir", layer: func(t testing.TB, j *jail) []byte { return mkTar(t, dirE("a/b/../../../../", 0o755)) },
			wantErr: `"a/b/../../../../"`, is: ErrBreakout},
		{name: "absolute name stays inside", layer: func(t testing.TB, j *jail) []byte {
			return mkTar(t, fileE(j.sentinel, "pwned", 0o644))
		}, inside: exists("$BASE/sentinel")},
		{name: "symlink to / then through it", layer: func(t testing.TB, j *jail) []byte {
			return mkTar(t, symE("a", "/"), fileE("a/"+abs(j)+"/x", "x", 0o644), fileE("a/"+abs(j)+"/sentinel", "pwned", 0o644))
		}, inside: exists("$BASE/sentinel")},
		{name: "symlink to base then through it", layer: func(t testing.TB, j *jail) []byte {
			return mkTar(t, symE("a", j.base), fileE("a/sentinel", "pwned", 0o644))
		}, wantErr: `"a/sentinel": parent directory "a": a is a symlink to a missing directory`},
		{name: "symlink up then through it", layer: func(t testing.TB, j *jail) []byte {
			return mkTar(t, symE("a", "../.."), fileE("a/x", "x", 0o644), dirE("a/d/", 0o755))
		}, inside: exists("x")},
		{name: "symlink chain up", layer: func(t testing.TB, j *jail) []byte {
			return mkTar(t, dirE("d/", 0o755), symE("d/up", "../../../.."), symE("u", "d/up/.."), fileE("u/sentinel", "pwned", 0o644))
		}, inside: exists("sentinel")},
		{name: "hardlink dotdot", layer: func(t testing.TB, j *jail) []byte { return mkTar(t, linkE("l", "../../../sentinel")) },
			wantErr: `"l"`, is: ErrBreakout},
		{name: "hardlink absolute", layer: func(t testing.TB, j *jail) []byte { return mkTar(t, linkE("l", j.sentinel)) },
			wantErr: `"l"`, is: os.ErrNotExist},
		{name: "hardlink through symlink", layer: func(t testing.TB, j *jail) []byte {
			return mkTar(t, symE("s", j.base), linkE("l", "s/sentinel"))
		}, wantErr: `"l"`, is: os.ErrNotExist},
		{name: "hardlink to symlink to outside", layer: func(t testing.TB, j *jail) []byte {
			return mkTar(t, symE("s", j.sentinel), linkE("l", "s"), fileE("l", "pwned", 0o644))
		}, inside: exists("s")},
		{name: "hardlink to directory", layer: func(t testing.TB, j *jail) []byte {
			return mkTar(t, dirE("d/", 0o755), linkE("l", "d"))
		}, wantErr: `"l"`},
		{name: "file over symlink to outside", layer: func(t testing.TB, j *jail) []byte {
			return mkTar(t, symE("s", j.sentinel), fileE("s", "pwned", 0o777))
		}, inside: exists("s")},
		{name: "dir entry over symlink to outside", layer: func(t testing.TB, j *jail) []byte {
			return mkTar(t, symE("s", j.base), dirE("s/", 0o777), fileE("s/sentinel", "pwned", 0o644))
		}, inside: exists("s/sentinel")},
		{name: "symlink then dir then file", layer: func(t testing.TB, j *jail) []byte {
			return mkTar(t, symE("d", j.base), dirE("d/", 0o755), fileE("d/x", "x", 0o644))
		}, inside: exists("d/x")},
		{name: "dir replaced by symlink mid-archive", layer: func(t testing.TB, j *jail) []byte {
			return mkTar(t, dirE("d/", 0o755), fileE("d/f", "f", 0o644), symE("d", j.base), fileE("d/sentinel", "pwned", 0o644))
		}, wantErr: `"d/sentinel"`},
		{name: "dir replaced by symlink to an inside dir", layer: func(t testing.TB, j *jail) []byte {
			return mkTar(t, dirE("tmp/", 0o755), dirE("d/", 0o755), symE("d", "/tmp"), fileE("d/x", "x", 0o644))
		}, inside: exists("tmp/x")},
		{name: "dir replaced by relative symlink up", layer: func(t testing.TB, j *jail) []byte {
			return mkTar(t, dirE("d/", 0o755), symE("d", "../../.."), fileE("d/sentinel", "pwned", 0o644))
		}, inside: exists("sentinel")},
		{name: "chmod through symlink (CVE-2021-32760)", layer: func(t testing.TB, j *jail) []byte {
			s := symE("s", j.sentinel)
			s.h.Mode = 0o4777
			s.h.Uid = 4242
			return mkTar(t, s)
		}, inside: exists("s")},
		{name: "xattr on symlink to outside", layer: func(t testing.TB, j *jail) []byte {
			s := symE("s", j.sentinel)
			s.h.PAXRecords = map[string]string{"SCHILY.xattr.trusted.pwn": "1", "SCHILY.xattr.user.pwn": "1"}
			return mkTar(t, s)
		}, inside: exists("s")},
		{name: "whiteout dotdot", layer: func(t testing.TB, j *jail) []byte { return mkTar(t, fileE("../../../.wh.sentinel", "", 0)) },
			opts: ApplyOptions{Whiteouts: WhiteoutsMerge}, wantErr: `"../../../.wh.sentinel"`, is: ErrBreakout},
		{name: "whiteout inner dotdot", layer: func(t testing.TB, j *jail) []byte { return mkTar(t, fileE("x/../../../../.wh.sentinel", "", 0)) },
			opts: ApplyOptions{Whiteouts: WhiteoutsMerge}, wantErr: `.wh.sentinel"`, is: ErrBreakout},
		{name: "whiteout of dotdot", layer: func(t testing.TB, j *jail) []byte { return mkTar(t, fileE("d/.wh..", "", 0)) },
			opts: ApplyOptions{Whiteouts: WhiteoutsMerge}, wantErr: `"d/.wh.."`},
		{name: "whiteout in symlinked dir", layer: func(t testing.TB, j *jail) []byte {
			return mkTar(t, symE("s", j.base), fileE("s/.wh.sentinel", "", 0))
		}, opts: ApplyOptions{Whiteouts: WhiteoutsMerge}, wantErr: `"s/.wh.sentinel"`},
		{name: "whiteout in symlinked dir overlay", layer: func(t testing.TB, j *jail) []byte {
			return mkTar(t, symE("s", j.base), fileE("s/.wh.sentinel", "", 0))
		}, wantErr: `"s/.wh.sentinel"`},
		{name: "whiteout of symlink removes the link only", layer: func(t testing.TB, j *jail) []byte {
			return mkTar(t, symE("s", j.base), fileE(".wh.s", "", 0))
		}, opts: ApplyOptions{Whiteouts: WhiteoutsMerge}},
		{name: "whiteout through symlink up", layer: func(t testing.TB, j *jail) []byte {
			return mkTar(t, symE("s", "../../.."), fileE("s/x/.wh.sentinel", "", 0))
		}, opts: ApplyOptions{Whiteouts: WhiteoutsMerge}},
		{name: "opaque in symlinked dir", layer: func(t testing.TB, j *jail) []byte {
			return mkTar(t, symE("s", j.base), fileE("s/.wh..wh..opq", "", 0))
		}, opts: ApplyOptions{Whiteouts: WhiteoutsMerge}, wantErr: `"s/.wh..wh..opq"`},
		{name: "opaque in symlinked dir overlay", layer: func(t testing.TB, j *jail) []byte {
			return mkTar(t, symE("s", j.base), fileE("s/.wh..wh..opq", "", 0))
		}, wantErr: `"s/.wh..wh..opq"`},
		{name: "opaque at root through dotdot", layer: func(t testing.TB, j *jail) []byte {
			return mkTar(t, fileE("../.wh..wh..opq", "", 0))
		}, opts: ApplyOptions{Whiteouts: WhiteoutsMerge}, wantErr: `"../.wh..wh..opq"`, is: ErrBreakout},
		{name: "overlay xattr smuggled", layer: func(t testing.TB, j *jail) []byte {
			d := dirE("d/", 0o755)
			d.h.PAXRecords = map[string]string{"SCHILY.xattr.trusted.overlay.redirect": "/etc", "SCHILY.xattr.trusted.overlay.opaque": "y"}
			return mkTar(t, d)
		}, inside: func(t *testing.T, j *jail) {
			if xs, _ := pathXattrs(filepath.Join(j.root, "d")); len(xs) != 0 {
				t.Fatalf("overlay xattrs taken from the layer: %v", xs)
			}
		}},
		{name: "device refused", layer: func(t testing.TB, j *jail) []byte { return mkTar(t, nodE("dev/sda", tar.TypeBlock, 8, 0)) },
			opts: ApplyOptions{Devices: DevicesRefuse}, wantErr: `"dev/sda"`, is: ErrDeviceRefused},
		{name: "device skipped", layer: func(t testing.TB, j *jail) []byte { return mkTar(t, nodE("dev/mem", tar.TypeChar, 1, 1)) },
			opts: ApplyOptions{Devices: DevicesSkip}, inside: func(t *testing.T, j *jail) {
				if _, err := os.Lstat(filepath.Join(j.root, "dev/mem")); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("device made: %v", err)
				}
			}},
		{name: "file under a file", layer: func(t testing.TB, j *jail) []byte {
			return mkTar(t, fileE("f", "f", 0o644), fileE("f/x", "x", 0o644))
		}, wantErr: `"f/x"`},
		{name: "bad owner", layer: func(t testing.TB, j *jail) []byte {
			f := fileE("f", "f", 0o644)
			f.h.Uid = -5
			return mkTar(t, f)
		}, wantErr: `"f"`},
		{name: "unknown type", layer: func(t testing.TB, j *jail) []byte {
			return mkTar(t, ent{h: tar.Header{Typeflag: 'Z', Name: "z", ModTime: testTime}})
		}, wantErr: `"z"`},
		{name: "empty symlink", layer: func(t testing.TB, j *jail) []byte { return mkTar(t, symE("s", "")) }, wantErr: `"s"`},
		{name: "truncated", layer: func(t testing.TB, j *jail) []byte {
			b := mkTar(t, fileE("ok", "ok", 0o644), fileE("big", strings.Repeat("x", 4000), 0o644))
			return b[:1024+512+1000]
		}, wantErr: `"big"`},
		{name: "truncated header", layer: func(t testing.TB, j *jail) []byte {
			b := mkTar(t, fileE("ok", "ok", 0o644), fileE("next", "x", 0o644))
			return b[:1024+100]
		}, wantErr: `after entry "ok"`},
		{name: "corrupt gzip", layer: func(t testing.TB, j *jail) []byte {
			var buf bytes.Buffer
			w, _ := CompressStream(&buf, Gzip)
			w.Write(mkTar(t, fileE("f", strings.Repeat("data", 1000), 0o644)))
			w.Close()
			b := buf.Bytes()
			b[len(b)/2] ^= 0xff
			return b
		}, wantErr: "apply layer"},
		{name: "gzip bad crc", layer: func(t testing.TB, j *jail) []byte {
			var buf bytes.Buffer
			w, _ := CompressStream(&buf, Gzip)
			w.Write(mkTar(t, fileE("f", "data", 0o644)))
			w.Close()
			b := buf.Bytes()
			b[len(b)-6] ^= 0xff // the CRC32 in the trailer
			return b
		}, wantErr: "checksum"},
		{name: "corrupt zstd", layer: func(t testing.TB, j *jail) []byte {
			var buf bytes.Buffer
			w, _ := CompressStream(&buf, Zstd)
			w.Write(mkTar(t, fileE("f", strings.Repeat("data", 1000), 0o644)))
			w.Close()
			b := buf.Bytes()
			return b[:len(b)-8]
		}, wantErr: "apply layer"},
		{name: "not a tar", layer: func(t testing.TB, j *jail) []byte { return bytes.Repeat([]byte("not a tar at all "), 64) },
			wantErr: "first tar header"},
		{name: "gnu sparse bomb", layer: func(t testing.TB, j *jail) []byte { return gnuSparse("sparse", 1<<50) },
			wantErr: `"sparse": sparse files are not supported`},
		{name: "xz", layer: func(t testing.TB, j *jail) []byte { return []byte{0xfd, '7', 'z', 'X', 'Z', 0, 1, 2} },
			wantErr: "xz"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := newJail(t)
			opts := c.opts
			if opts.Whiteouts == 0 {
				opts.Whiteouts = WhiteoutsOverlay
			}
			_, err := Apply(context.Background(), j.root, bytes.NewReader(c.layer(t, j)), opts)
			j.check(t)
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("apply: %v", err)
				}
				if c.inside != nil {
					c.inside(t, j)
				}
				return
			}
			if err == nil {
				t.Fatalf("apply succeeded, want an error with %s", c.wantErr)
			}
			if !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("error %q does not name %s", err, c.wantErr)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Fatalf("error %q is not %v", err, c.is)
			}
			t.Logf("refused: %v", err)
		})
	}
}

// gnuSparse hand-builds an old-GNU sparse entry (archive/tar cannot write
// one) declaring realsize bytes, all hole but the last, then the end of
// the archive.
func gnuSparse(name string, realsize int64) []byte {
	h := make([]byte, 512)
	copy(h[0:], name)
	copy(h[100:], "0000644\x00")
	copy(h[108:], "0000000\x00")
	copy(h[116:], "0000000\x00")
	copy(h[124:], "00000000001\x00") // one stored byte
	copy(h[136:], "14570000000\x00")
	h[156] = tar.TypeGNUSparse
	copy(h[257:], "ustar  \x00")
	octal := func(b []byte, v int64) { copy(b, fmt.Sprintf("%0*o", len(b)-1, v)) }
	octal(h[386:398], realsize-1) // sparse[0].offset
	octal(h[398:410], 1)          // sparse[0].numbytes
	octal(h[483:495], realsize)   // realsize
	for i := 148; i < 156; i++ {
		h[i] = ' '
	}
	var sum int64
	for _, c := range h {
		sum += int64(c)
	}
	copy(h[148:], fmt.Sprintf("%06o\x00 ", sum))
	data := make([]byte, 512)
	data[0] = 'x'
	return append(append(h, data...), make([]byte, 1024)...)
}
