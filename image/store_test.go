package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth/snapshot"
)

// tarEntry is one entry of a test layer.
type tarEntry struct {
	name, body, link string
	typ              byte
}

func makeTar(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Linkname: e.link, ModTime: time.Unix(1e9, 0)}
		switch e.typ {
		case tar.TypeDir:
			h.Mode = 0o755
		case tar.TypeReg:
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (snapshots mount and chown)")
	}
}

// testImage stores an image of the given layers and tags it name.
func testImage(t *testing.T, s *Store, name string, layers ...[]byte) Image {
	t.Helper()
	ctx := context.Background()
	release, err := s.Content().Hold(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	cfg := ocispec.Image{Platform: HostPlatform(), RootFS: ocispec.RootFS{Type: "layers"}}
	cfg.Config.Cmd = []string{"sh"}
	var descs []ocispec.Descriptor
	for _, l := range layers {
		d, diffID, err := s.WriteLayer(ctx, bytes.NewReader(l))
		if err != nil {
			t.Fatal(err)
		}
		if want := digest.FromBytes(l); diffID != want {
			t.Fatalf("WriteLayer diffID %s, want %s", diffID, want)
		}
		descs = append(descs, d)
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, diffID)
	}
	target, err := s.WriteImage(ctx, cfg, descs)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := ParseRef(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(ctx, ref, target); err != nil {
		t.Fatal(err)
	}
	img, err := s.Get(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func openStore(t *testing.T, snapshotter string) *Store {
	t.Helper()
	s, err := Open(context.Background(), t.TempDir(), Options{Snapshotter: snapshotter})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// mountRootfs mounts a rootfs on a temp dir until the test ends.
func mountRootfs(t *testing.T, mounts []snapshot.Mount) string {
	t.Helper()
	dir := t.TempDir()
	if err := snapshot.MountAll(mounts, dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := snapshot.Unmount(dir); err != nil {
			t.Error(err)
		}
	})
	return dir
}

func TestStoreLifecycle(t *testing.T) {
	requireRoot(t)
	for _, sn := range []string{"overlay", "native"} {
		t.Run(sn, func(t *testing.T) { testStoreLifecycle(t, sn) })
	}
}

func testStoreLifecycle(t *testing.T, sn string) {
	ctx := context.Background()
	s := openStore(t, sn)
	base := makeTar(t,
		tarEntry{name: "etc/", typ: tar.TypeDir},
		tarEntry{name: "etc/os-release", body: "base\n", typ: tar.TypeReg},
		tarEntry{name: "etc/gone", body: "x", typ: tar.TypeReg},
		tarEntry{name: "bin/", typ: tar.TypeDir},
		tarEntry{name: "bin/sh", link: "busybox", typ: tar.TypeSymlink})
	top := makeTar(t,
		tarEntry{name: "etc/.wh.gone", typ: tar.TypeReg},
		tarEntry{name: "etc/os-release", body: "top\n", typ: tar.TypeReg})
	img := testImage(t, s, "example/app:1", base, top)
	other := testImage(t, s, "example/base", base)

	if got, err := s.Resolve(ctx, "example/app:1"); err != nil || len(got) != 1 || got[0].Target.Digest != img.Target.Digest {
		t.Fatalf("Resolve by name: %v %v", got, err)
	}
	id, err := s.ID(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Resolve(ctx, id.Encoded()[:6]); err != nil || len(got) != 1 {
		t.Fatalf("Resolve by ID prefix: %v %v", got, err)
	}
	if _, err := s.Resolve(ctx, "example/none"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Resolve of a missing name: %v", err)
	}

	mounts, err := s.PrepareRootfs(ctx, "ctr1", img)
	if err != nil {
		t.Fatal(err)
	}
	dir := mountRootfs(t, mounts)
	if b, err := os.ReadFile(filepath.Join(dir, "etc/os-release")); err != nil || string(b) != "top\n" {
		t.Errorf("etc/os-release = %q, %v", b, err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "etc/gone")); !os.IsNotExist(err) {
		t.Errorf("whiteout: etc/gone still there: %v", err)
	}
	if l, err := os.Readlink(filepath.Join(dir, "bin/sh")); err != nil || l != "busybox" {
		t.Errorf("bin/sh -> %q, %v", l, err)
	}
	// A second rootfs shares the unpacked layers: the base layer is one
	// snapshot for both images.
	if _, err := s.PrepareRootfs(ctx, "ctr1", img); err == nil {
		t.Error("a second rootfs with the same key was made")
	}
	committed := 0
	_ = s.snaps.Walk(ctx, func(i snapshot.Info) error {
		if i.Kind == snapshot.KindCommitted {
			committed++
		}
		return nil
	})
	if _, err := s.Unpack(ctx, other); err != nil {
		t.Fatal(err)
	}
	after := 0
	_ = s.snaps.Walk(ctx, func(i snapshot.Info) error {
		if i.Kind == snapshot.KindCommitted {
			after++
		}
		return nil
	})
	if committed != 2 || after != 2 {
		t.Errorf("committed layer snapshots: %d, then %d after unpacking the base image; want 2, 2", committed, after)
	}

	// GC keeps everything named or in use.
	rep, err := s.GC(ctx)
	if err != nil || len(rep.Blobs) != 0 || len(rep.Snapshots) != 0 {
		t.Fatalf("GC removed live things: %+v %v", rep, err)
	}
	// Untagged but in use: the layers stay (the rootfs needs them).
	if err := s.Untag(ctx, img); err != nil {
		t.Fatal(err)
	}
	rep, err = s.GC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Snapshots) != 0 {
		t.Errorf("GC removed snapshots under a rootfs: %v", rep.Snapshots)
	}
	if len(rep.Blobs) != 3 { // top layer, config, manifest of app:1
		t.Errorf("GC removed %d blobs, want 3: %+v", len(rep.Blobs), rep.Blobs)
	}
	if err := snapshot.Unmount(dir); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveRootfs(ctx, "ctr1"); err != nil {
		t.Fatal(err)
	}
	rep, err = s.GC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Snapshots) != 1 {
		t.Errorf("GC after the rootfs went removed snapshots %v, want the top layer's", rep.Snapshots)
	}
	if err := s.Untag(ctx, other); err != nil {
		t.Fatal(err)
	}
	if rep, err = s.GC(ctx); err != nil || len(rep.Snapshots) != 1 || len(rep.Blobs) != 3 {
		t.Errorf("GC of the last image: %+v %v", rep, err)
	}
	if r, err := s.Content().Check(ctx, false); err != nil || !r.OK() || r.Blobs != 0 {
		t.Errorf("content after GC: %+v %v", r, err)
	}
}

func TestUnpackRefusesWrongDiffID(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	s := openStore(t, "overlay")
	l := makeTar(t, tarEntry{name: "f", body: "x", typ: tar.TypeReg})
	desc, _, err := s.WriteLayer(ctx, bytes.NewReader(l))
	if err != nil {
		t.Fatal(err)
	}
	cfg := ocispec.Image{Platform: HostPlatform(), RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromString("lie")}}}
	target, err := s.WriteImage(ctx, cfg, []ocispec.Descriptor{desc})
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := ParseRef("liar")
	if err := s.Tag(ctx, ref, target); err != nil {
		t.Fatal(err)
	}
	img, _ := s.Get(ctx, ref)
	if _, err := s.Unpack(ctx, img); err == nil {
		t.Fatal("unpacked a layer whose content is not its diff ID")
	}
	n := 0
	_ = s.snaps.Walk(ctx, func(snapshot.Info) error { n++; return nil })
	if n != 0 {
		t.Errorf("%d snapshots left after a failed unpack", n)
	}
}
