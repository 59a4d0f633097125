package copy

import (
	"bytes"
	"context"
	"io/fs"
	"path/filepath"
	"testing"
)

// FuzzToContainer extracts arbitrary bytes as a copy stream into a
// container root that holds outward symlinks; whatever happens, nothing
// outside the root may change or appear.
func FuzzToContainer(f *testing.F) {
	requireRoot(f)
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		s := newSandbox(t)
		dst := []string{"/", "/evil", "/evil3", "/etc", "/new"}[int(mode&7)%5]
		var src *Source
		if mode&8 != 0 {
			src = &Source{Base: "x", IsDir: mode&16 != 0}
		}
		o := ToOptions{Source: src, NoOverwriteDirNonDir: mode&32 != 0, CopyUIDGID: mode&64 != 0, UID: 1, GID: 2}
		_ = ToContainer(context.Background(), s.rootfs, dst, bytes.NewReader(data), o)
		s.check(t)
	})
}

// FuzzExtractHost extracts arbitrary bytes, as if a container had made
// the stream, into a host directory next to the sentinel directory:
// nothing outside the destination may change, and no set-id file or
// device node may appear.
func FuzzExtractHost(f *testing.F) {
	requireRoot(f)
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		s := newSandbox(t)
		dst := []string{"/", "/etc", "/new", "/etc/x"}[int(mode&3)]
		src := Source{Base: "x", IsDir: mode&16 != 0}
		_ = ExtractHost(context.Background(), bytes.NewReader(data), src, filepath.Join(s.rootfs, dst), HostOptions{Logger: quiet()})
		s.check(t)
		err := filepath.WalkDir(s.rootfs, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeDevice) != 0 {
				t.Errorf("%s: mode %v on the host", p, fi.Mode())
			}
			return nil
		})
		must(t, err)
	})
}

// addSeeds adds well-formed and hostile copy streams.
func addSeeds(f *testing.F) {
	for _, ents := range [][]tarEntry{
		{{name: "f", body: "x"}},
		{{name: "d", typ: '5', mode: 0o755}, {name: "d/f", body: "x"}, {name: "d/h", typ: '1', link: "d/f"}},
		{{name: "../pwn", body: "x"}},
		{{name: "l", typ: '2', link: "../outside"}, {name: "l/pwn", body: "x"}},
		{{name: "l", typ: '2', link: "../../../../outside"}, {name: "l/secret", body: "x"}},
		{{name: "evil3/secret", body: "x"}},
		{{name: "evil2/outside/secret", body: "x"}},
		{{name: "h", typ: '1', link: "evil3/secret"}},
		{{name: "secret", typ: '2', link: "../outside/secret"}, {name: "secret", typ: '5', mode: 0o777}},
		{{name: "p", typ: '6', mode: 0o600}, {name: "c", typ: '3'}},
		{{name: "x", body: "#!", mode: 0o6755}},
		{{name: "x", typ: '5', mode: 0o2755}, {name: "x/c", typ: '3'}, {name: "x/s", body: "#!", mode: 0o4755}},
	} {
		tarball := mkTar(f, ents...)
		for _, mode := range []uint8{0, 1, 2, 8 | 3, 16 | 8 | 4, 32} {
			f.Add(tarball, mode)
		}
	}
}
