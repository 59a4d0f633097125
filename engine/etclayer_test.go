package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"berth/snapshot"
)

// TestImageEtc: the image's /etc is found in its layers top first, through
// whiteouts and opaque layer roots, and never through a symlink.
func TestImageEtc(t *testing.T) {
	for _, c := range []struct {
		name   string
		layers func(t *testing.T, top, mid, bottom string)
		ok     bool
		mode   uint32 // 0: no /etc (a zero stat)
	}{
		{"bottom", func(t *testing.T, top, mid, bottom string) { mkdir(t, bottom, "etc", 0o750) }, true, 0o750},
		{"nearest", func(t *testing.T, top, mid, bottom string) {
			mkdir(t, mid, "etc", 0o711)
			mkdir(t, bottom, "etc", 0o755)
		}, true, 0o711},
		{"none", func(t *testing.T, top, mid, bottom string) {}, true, 0},
		{"whiteout", func(t *testing.T, top, mid, bottom string) {
			if err := unix.Mknod(filepath.Join(top, "etc"), unix.S_IFCHR, 0); err != nil {
				t.Fatal(err)
			}
			mkdir(t, bottom, "etc", 0o755)
		}, true, 0},
		{"opaque root", func(t *testing.T, top, mid, bottom string) {
			if err := unix.Lsetxattr(mid, "trusted.overlay.opaque", []byte("y"), 0); err != nil {
				t.Fatal(err)
			}
			mkdir(t, bottom, "etc", 0o755)
		}, true, 0},
		{"symlink", func(t *testing.T, top, mid, bottom string) {
			// Never followed: it points at the host's /etc from here.
			if err := os.Symlink("/etc", filepath.Join(top, "etc")); err != nil {
				t.Fatal(err)
			}
		}, false, 0},
		{"file", func(t *testing.T, top, mid, bottom string) {
			if err := os.WriteFile(filepath.Join(mid, "etc"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}, false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := t.TempDir()
			top, mid, bottom := filepath.Join(d, "top"), filepath.Join(d, "mid"), filepath.Join(d, "bottom")
			for _, l := range []string{top, mid, bottom} {
				mkdir(t, l, "", 0o755)
			}
			c.layers(t, top, mid, bottom)
			st, ok, err := imageEtc([]string{top, mid, bottom})
			if err != nil || ok != c.ok {
				t.Fatalf("ok %v err %v, want ok %v", ok, err, c.ok)
			}
			if ok && st.Mode&0o7777 != c.mode {
				t.Errorf("mode %#o, want %#o", st.Mode&0o7777, c.mode)
			}
		})
	}
}

// TestWithEtcLayer: the layer is made once, with the image's /etc mode and
// owner and only the files asked for, and put on top of the lower layers;
// mounts it cannot stack on are left alone.
func TestWithEtcLayer(t *testing.T) {
	d := t.TempDir()
	low := filepath.Join(d, "a:b") // a colon, escaped in lowerdir
	mkdir(t, low, "", 0o755)
	mkdir(t, low, "etc", 0o2750)
	if err := os.Chown(filepath.Join(low, "etc"), 7, 8); err != nil {
		t.Fatal(err)
	}
	c := &Container{ID: "c1", RunDir: filepath.Join(d, "run")}
	ov := []snapshot.Mount{{Type: "overlay", Source: "overlay", Options: []string{
		"index=off", "lowerdir=" + snapshot.JoinLowerDirs([]string{low}), "upperdir=/u", "workdir=/w"}}}
	got, etc, err := withEtcLayer(c, ov, []string{"hostname", "resolv.conf"})
	if err != nil {
		t.Fatal(err)
	}
	if etc != filepath.Join(etcLayerDir(c), "etc") {
		t.Fatalf("etc dir %q", etc)
	}
	if l := got[0].LowerDirs(); len(l) != 2 || l[0] != etcLayerDir(c) || l[1] != low {
		t.Errorf("lower dirs %q", l)
	}
	if ov[0].Options[1] != "lowerdir="+snapshot.JoinLowerDirs([]string{low}) {
		t.Errorf("the caller's mounts changed: %q", ov[0].Options)
	}
	var st unix.Stat_t
	if err := unix.Lstat(etc, &st); err != nil || st.Mode&0o7777 != 0o2750 || st.Uid != 7 || st.Gid != 8 {
		t.Errorf("layer's etc: mode %#o owner %d:%d %v, want 02750 7:8", st.Mode&0o7777, st.Uid, st.Gid, err)
	}
	ents, _ := os.ReadDir(etc)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "hostname resolv.conf" {
		t.Errorf("layer's files %q", names)
	}
	// Made already: used as it is.
	if err := os.WriteFile(filepath.Join(etc, "hostname"), []byte("h\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, etc2, err := withEtcLayer(c, ov, []string{"hostname"}); err != nil || etc2 != etc {
		t.Errorf("again: %q %v", etc2, err)
	}
	if b, _ := os.ReadFile(filepath.Join(etc, "hostname")); string(b) != "h\n" {
		t.Errorf("hostname rewritten: %q", b)
	}

	for name, m := range map[string][]snapshot.Mount{
		"bind":       {{Type: "bind", Source: low}},
		"two mounts": {ov[0], ov[0]},
		"a page":     {{Type: "overlay", Options: []string{"lowerdir=" + low, "upperdir=" + strings.Repeat("u", os.Getpagesize())}}},
	} {
		c := &Container{ID: "c2", RunDir: filepath.Join(d, name)}
		got, etc, err := withEtcLayer(c, m, []string{"hostname"})
		if err != nil || etc != "" || len(got) != len(m) || got[0].Type != m[0].Type {
			t.Errorf("%s: %v %q %v", name, got, etc, err)
		}
		if _, err := os.Stat(etcLayerDir(c)); !os.IsNotExist(err) {
			t.Errorf("%s: a layer was made: %v", name, err)
		}
	}
	// No run directory (an older berth's record): no layer.
	if _, etc, err := withEtcLayer(&Container{ID: "c3"}, ov, nil); err != nil || etc != "" {
		t.Errorf("no run directory: %q %v", etc, err)
	}
}

// mkdir makes dir/name with mode (unix bits: setgid is 02000).
func mkdir(t *testing.T, dir, name string, mode uint32) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}
