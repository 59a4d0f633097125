package copy

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestParseCopyArg(t *testing.T) {
	for _, tc := range []struct{ arg, ctr, path string }{
		{"c:/etc/hosts", "c", "/etc/hosts"},
		{"c:rel", "c", "rel"},
		{"c:", "c", ""},
		{"my_ctr-1:/a:b", "my_ctr-1", "/a:b"},
		{"/abs/path", "", "/abs/path"},
		{"/abs:x", "", "/abs:x"},
		{"./file:name.txt", "", "./file:name.txt"},
		{"../up:x", "", "../up:x"},
		{"dir/sub:x", "", "dir/sub:x"},
		{"plain", "", "plain"},
		{"-", "", "-"},
		{":/x", "", ":/x"},
	} {
		c, p := ParseCopyArg(tc.arg)
		if c != tc.ctr || p != tc.path {
			t.Errorf("ParseCopyArg(%q) = %q, %q; want %q, %q", tc.arg, c, p, tc.ctr, tc.path)
		}
	}
}

// TestNamingRules is Docker's table of cp outcomes, container to
// container through a stream.
func TestNamingRules(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct {
		name     string
		src, dst string
		want     []string // paths that must exist in the destination rootfs
		wantFile string   // path holding the file "f"'s content
		err      error
	}{
		{name: "file into dir", src: "/src/f", dst: "/dir", want: []string{"dir/f"}, wantFile: "dir/f"},
		{name: "file into dir slash", src: "/src/f", dst: "/dir/", want: []string{"dir/f"}, wantFile: "dir/f"},
		{name: "file to new name", src: "/src/f", dst: "/dir/g", want: []string{"dir/g"}, wantFile: "dir/g"},
		{name: "file over file", src: "/src/f", dst: "/dir/old", want: []string{"dir/old"}, wantFile: "dir/old"},
		{name: "file over file via link", src: "/src/f", dst: "/dir/oldlink", want: []string{"dir/old", "dir/oldlink"}, wantFile: "dir/old"},
		{name: "file into dir via link", src: "/src/f", dst: "/dirlink", want: []string{"dir/f"}, wantFile: "dir/f"},
		{name: "file to dangling link", src: "/src/f", dst: "/dangling", want: []string{"made"}, wantFile: "made"},
		{name: "dir into dir", src: "/src", dst: "/dir", want: []string{"dir/src/f", "dir/src/sub/g"}, wantFile: "dir/src/f"},
		{name: "dir to new name", src: "/src", dst: "/dir/new", want: []string{"dir/new/f", "dir/new/sub/g"}, wantFile: "dir/new/f"},
		{name: "dir to new name slash", src: "/src", dst: "/dir/new/", want: []string{"dir/new/f", "dir/new/sub/g"}, wantFile: "dir/new/f"},
		{name: "contents into dir", src: "/src/.", dst: "/dir", want: []string{"dir/f", "dir/sub/g", "dir/old"}, wantFile: "dir/f"},
		{name: "contents to new name", src: "/src/.", dst: "/new", want: []string{"new/f", "new/sub/g"}, wantFile: "new/f"},
		{name: "contents into root", src: "/src/.", dst: "/", want: []string{"f", "sub/g"}, wantFile: "f"},
		{name: "missing parent", src: "/src/f", dst: "/nope/x", err: ErrNotFound},
		{name: "file to missing dir", src: "/src/f", dst: "/dir/nope/", err: ErrDirNotExists},
		{name: "dir onto file", src: "/src", dst: "/dir/old", err: ErrCannotCopyDir},
		{name: "onto fifo", src: "/src/f", dst: "/dir/fifo", err: ErrNotDirOrFile},
		{name: "parent is a file", src: "/src/f", dst: "/dir/old/x", err: ErrNotDirectory},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newSandbox(t), newSandbox(t)
			must(t, os.MkdirAll(filepath.Join(a.rootfs, "src", "sub"), 0o755))
			must(t, os.WriteFile(filepath.Join(a.rootfs, "src", "f"), []byte("content-of-f"), 0o644))
			must(t, os.WriteFile(filepath.Join(a.rootfs, "src", "sub", "g"), []byte("g"), 0o644))
			must(t, os.MkdirAll(filepath.Join(b.rootfs, "dir"), 0o755))
			must(t, os.WriteFile(filepath.Join(b.rootfs, "dir", "old"), []byte("old"), 0o644))
			must(t, os.Symlink("old", filepath.Join(b.rootfs, "dir", "oldlink")))
			must(t, os.Symlink("/dir", filepath.Join(b.rootfs, "dirlink")))
			must(t, os.Symlink("/made", filepath.Join(b.rootfs, "dangling")))
			must(t, mkfifo(filepath.Join(b.rootfs, "dir", "fifo")))

			var buf bytes.Buffer
			st, err := FromContainer(context.Background(), a.rootfs, tc.src, &buf)
			must(t, err)
			src := st.Source()
			err = ToContainer(context.Background(), b.rootfs, tc.dst, &buf, ToOptions{Source: &src, NoOverwriteDirNonDir: true})
			if tc.err != nil {
				wantErr(t, err, tc.err)
				b.check(t)
				return
			}
			must(t, err)
			for _, p := range tc.want {
				if _, err := os.Lstat(filepath.Join(b.rootfs, p)); err != nil {
					t.Errorf("missing %s: %v", p, err)
				}
			}
			got, err := os.ReadFile(filepath.Join(b.rootfs, tc.wantFile))
			must(t, err)
			if string(got) != "content-of-f" {
				t.Errorf("%s holds %q", tc.wantFile, got)
			}
			b.check(t)
		})
	}
}

// TestRawStream is `berth cp - c:/dir`: the stream goes into an existing
// directory unchanged, anything else is an error.
func TestRawStream(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	must(t, os.MkdirAll(filepath.Join(s.rootfs, "dir"), 0o755))
	tarball := mkTar(t, tarEntry{name: "a/b", body: "b"}, tarEntry{name: "c", body: "c"})
	must(t, ToContainer(context.Background(), s.rootfs, "/dir", bytes.NewReader(tarball), ToOptions{}))
	for _, p := range []string{"dir/a/b", "dir/c"} {
		if _, err := os.Stat(filepath.Join(s.rootfs, p)); err != nil {
			t.Error(err)
		}
	}
	err := ToContainer(context.Background(), s.rootfs, "/nope", bytes.NewReader(tarball), ToOptions{})
	wantErr(t, err, ErrNotFound)
	err = ToContainer(context.Background(), s.rootfs, "/etc/x", bytes.NewReader(tarball), ToOptions{})
	wantErr(t, err, ErrNotDirectory)
	s.check(t)
}

// TestOverwriteRules: a directory is never replaced by a file, nor the
// reverse, with NoOverwriteDirNonDir; without it both are replaced.
func TestOverwriteRules(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	must(t, os.MkdirAll(filepath.Join(s.rootfs, "dir", "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(s.rootfs, "dir", "file"), nil, 0o644))
	fileOverDir := mkTar(t, tarEntry{name: "sub", body: "x"})
	dirOverFile := mkTar(t, tarEntry{name: "file", typ: '5', mode: 0o755})
	strict := ToOptions{NoOverwriteDirNonDir: true}
	if err := ToContainer(context.Background(), s.rootfs, "/dir", bytes.NewReader(fileOverDir), strict); err == nil {
		t.Error("file replaced a directory")
	}
	if err := ToContainer(context.Background(), s.rootfs, "/dir", bytes.NewReader(dirOverFile), strict); err == nil {
		t.Error("directory replaced a file")
	}
	must(t, ToContainer(context.Background(), s.rootfs, "/dir", bytes.NewReader(fileOverDir), ToOptions{}))
	must(t, ToContainer(context.Background(), s.rootfs, "/dir", bytes.NewReader(dirOverFile), ToOptions{}))
	if fi, err := os.Lstat(filepath.Join(s.rootfs, "dir", "sub")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("sub: %v %v", fi, err)
	}
	if fi, err := os.Lstat(filepath.Join(s.rootfs, "dir", "file")); err != nil || !fi.IsDir() {
		t.Errorf("file: %v %v", fi, err)
	}
	s.check(t)
}

// TestCopyUIDGID: -a owns every entry by the container's user; without it
// the headers' ids stand.
func TestCopyUIDGID(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	tarball := mkTar(t, tarEntry{name: "d", typ: '5', mode: 0o755, uid: 5, gid: 6},
		tarEntry{name: "d/f", uid: 5, gid: 6, body: "x"}, tarEntry{name: "d/l", typ: '2', link: "f", uid: 5, gid: 6})
	must(t, ToContainer(context.Background(), s.rootfs, "/", bytes.NewReader(tarball), ToOptions{}))
	want := map[string][2]int{"d": {5, 6}, "d/f": {5, 6}, "d/l": {5, 6}}
	checkOwners(t, s.rootfs, want)
	must(t, ToContainer(context.Background(), s.rootfs, "/", bytes.NewReader(tarball), ToOptions{CopyUIDGID: true, UID: 1000, GID: 100}))
	want = map[string][2]int{"d": {1000, 100}, "d/f": {1000, 100}, "d/l": {1000, 100}}
	checkOwners(t, s.rootfs, want)
	s.check(t)
}

// TestCancelAndTruncated: a cancelled context stops a copy, a truncated
// stream is an error.
func TestCancelAndTruncated(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var buf bytes.Buffer
	if _, err := FromContainer(ctx, s.rootfs, "/etc", &buf); err == nil {
		t.Error("cancelled FromContainer succeeded")
	}
	tarball := mkTar(t, tarEntry{name: "f", body: "0123456789"})
	if err := ToContainer(ctx, s.rootfs, "/etc", bytes.NewReader(tarball), ToOptions{}); err == nil {
		t.Error("cancelled ToContainer succeeded")
	}
	err := ToContainer(context.Background(), s.rootfs, "/etc", bytes.NewReader(tarball[:515]), ToOptions{})
	if err == nil {
		t.Error("truncated stream accepted")
	}
	s.check(t)
}
