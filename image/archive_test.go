package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth/content"
)

// arcEntry is one entry of a test archive or layer.
type arcEntry struct {
	name string
	typ  byte
	body []byte
	link string
}

// arcFile is a regular file entry.
func arcFile(name string, body []byte) arcEntry {
	return arcEntry{name: name, typ: tar.TypeReg, body: body}
}

// arcTar writes entries as a tar.
func arcTar(t testing.TB, entries ...arcEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Linkname: e.link, ModTime: time.Unix(1e9, 0)}
		if e.typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			if _, err := tw.Write(e.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// arcEntries reads an archive back into entries, in order.
func arcEntries(t testing.TB, b []byte) []arcEntry {
	t.Helper()
	var out []arcEntry
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, arcEntry{name: h.Name, typ: h.Typeflag, body: body, link: h.Linkname})
	}
}

// arcLayer is a small layer tar holding files name=body.
func arcLayer(t testing.TB, files ...string) []byte {
	t.Helper()
	var es []arcEntry
	for _, f := range files {
		name, body, _ := strings.Cut(f, "=")
		es = append(es, arcFile(name, []byte(body)))
	}
	return arcTar(t, es...)
}

func arcRequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the image store's snapshotter runs as root")
	}
}

// arcStore opens an image store in a temp dir, closed when the test ends.
func arcStore(t testing.TB) *Store {
	t.Helper()
	arcRequireRoot(t)
	s, err := Open(context.Background(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// arcImage stores an image of layers and tags it with every name given.
func arcImage(t testing.TB, s *Store, names []string, layers ...[]byte) ocispec.Descriptor {
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
		descs = append(descs, d)
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, diffID)
	}
	target, err := s.WriteImage(ctx, cfg, descs)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		ref, err := ParseRef(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Tag(ctx, ref, target); err != nil {
			t.Fatal(err)
		}
	}
	return target
}

// arcImageDigests is what a round trip must keep of an image.
type arcImageDigests struct {
	Name, Target, Manifest, Config string
	Layers                         []string
}

// arcDescribe lists every named image of s with its digests.
func arcDescribe(t testing.TB, s *Store) []arcImageDigests {
	t.Helper()
	ctx := context.Background()
	imgs, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []arcImageDigests
	for _, img := range imgs {
		m, md, err := s.Manifest(ctx, img)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Config(ctx, m); err != nil {
			t.Fatal(err)
		}
		d := arcImageDigests{Name: img.Name.String(), Target: img.Target.Digest.String(), Manifest: md.Digest.String(), Config: m.Config.Digest.String()}
		for _, l := range m.Layers {
			d.Layers = append(d.Layers, l.Digest.String())
		}
		out = append(out, d)
	}
	return out
}

// arcCheckClean fails if the store's blobs are not sound.
func arcCheckClean(t testing.TB, s *Store) {
	t.Helper()
	rep, err := s.Content().Check(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		if f.Kind == content.KindCorruptBlob || f.Kind == content.KindBadLayout || f.Kind == content.KindStrayFile {
			t.Errorf("store check: %+v", f)
		}
	}
}

// arcSource makes a store with three images sharing a layer, one image
// under two names, and returns it with the images.
func arcSource(t testing.TB) (*Store, []Image) {
	t.Helper()
	s := arcStore(t)
	base := arcLayer(t, "etc/os-release=berth", "bin/sh=#!")
	arcImage(t, s, []string{"a:1", "example.com:5000/team/c:2"}, base, arcLayer(t, "a.txt=a"))
	arcImage(t, s, []string{"b"}, base, arcLayer(t, "b.txt=b"))
	imgs, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s, imgs
}

func arcSave(t testing.TB, s *Store, imgs []Image, f SaveFormat) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := s.Save(context.Background(), &buf, imgs, f); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSaveLoadRoundTrip(t *testing.T) {
	for _, f := range []SaveFormat{SaveDocker, SaveOCI} {
		t.Run(f.String(), func(t *testing.T) {
			ctx := context.Background()
			src, imgs := arcSource(t)
			archive := arcSave(t, src, imgs, f)

			// Reproducible: the same images in another order, same bytes.
			rev := append([]Image(nil), imgs...)
			sort.Slice(rev, func(i, j int) bool { return rev[i].Name.String() > rev[j].Name.String() })
			if again := arcSave(t, src, rev, f); !bytes.Equal(again, archive) {
				t.Fatal("saving the same images twice gave different archives")
			}
			arcCheckLayout(t, archive, f)

			dst := arcStore(t)
			loaded, err := dst.Load(ctx, bytes.NewReader(archive))
			if err != nil {
				t.Fatal(err)
			}
			if len(loaded) != len(imgs) {
				t.Fatalf("loaded %d images, want %d: %+v", len(loaded), len(imgs), loaded)
			}
			want, got := arcDescribe(t, src), arcDescribe(t, dst)
			if fmt.Sprint(want) != fmt.Sprint(got) {
				t.Fatalf("after the round trip:\n got %+v\nwant %+v", got, want)
			}
			arcCheckClean(t, dst)
			// The layers are whole: they unpack, diff IDs checked.
			if _, err := dst.Unpack(ctx, loaded[0]); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// arcCheckLayout checks the archive's structure: sorted entries, fixed
// metadata, and the files each format must have.
func arcCheckLayout(t *testing.T, archive []byte, f SaveFormat) {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(archive))
	var names []string
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(time.Unix(0, 0)) || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: not reproducible metadata: %+v", h.Name, h)
		}
		names = append(names, h.Name)
		b, _ := io.ReadAll(tr)
		files[h.Name] = b
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("entries not sorted: %v", names)
	}
	if string(files["oci-layout"]) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout = %q", files["oci-layout"])
	}
	var idx ocispec.Index
	if err := json.Unmarshal(files["index.json"], &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 3 {
		t.Errorf("index.json has %d entries, want one per name (3)", len(idx.Manifests))
	}
	for _, m := range idx.Manifests {
		name := m.Annotations[AnnotationImageName]
		ref, err := ParseRef(name)
		if err != nil || ref.Tag() != m.Annotations[ocispec.AnnotationRefName] {
			t.Errorf("index entry annotations %v", m.Annotations)
		}
	}
	_, hasManifest := files["manifest.json"]
	if hasManifest != (f == SaveDocker) {
		t.Fatalf("manifest.json present = %v for format %s", hasManifest, f)
	}
	if f != SaveDocker {
		return
	}
	var dm []dockerArchiveManifest
	if err := json.Unmarshal(files["manifest.json"], &dm); err != nil {
		t.Fatal(err)
	}
	if len(dm) != 2 {
		t.Fatalf("manifest.json has %d entries, want one per image (2): %s", len(dm), files["manifest.json"])
	}
	for _, e := range dm {
		for _, p := range append([]string{e.Config}, e.Layers...) {
			if _, ok := files[p]; !ok {
				t.Errorf("manifest.json names %q, not in the archive", p)
			}
		}
	}
	if got := fmt.Sprint(dm[0].RepoTags, dm[1].RepoTags); got != "[a:1 example.com:5000/team/c:2] [b:latest]" {
		t.Errorf("RepoTags = %s", got)
	}
}

// TestLoadDockerArchive loads the manifest.json half of a saved archive
// alone, as a Docker before 25 or skopeo's docker-archive would write it.
func TestLoadDockerArchive(t *testing.T) {
	ctx := context.Background()
	src, imgs := arcSource(t)
	archive := arcSave(t, src, imgs, SaveDocker)
	var kept, stub []arcEntry
	for _, e := range arcEntries(t, archive) {
		if e.name != "index.json" && e.name != "oci-layout" {
			kept = append(kept, e)
		}
		if e.name == "index.json" {
			e.body = []byte(`{"schemaVersion":2,"manifests":[]}`)
		}
		stub = append(stub, e)
	}
	// manifest.json alone, and beside an index.json that lists nothing.
	for _, a := range [][]arcEntry{kept, stub} {
		dst := arcStore(t)
		if _, err := dst.Load(ctx, bytes.NewReader(arcTar(t, a...))); err != nil {
			t.Fatal(err)
		}
		// The manifest written has WriteImage's shape: same digests.
		want, got := arcDescribe(t, src), arcDescribe(t, dst)
		if fmt.Sprint(want) != fmt.Sprint(got) {
			t.Fatalf("docker-archive load:\n got %+v\nwant %+v", got, want)
		}
		arcCheckClean(t, dst)
	}
}

// arcLegacy builds a docker-archive as Docker 1.10 to 24 wrote it:
// <id>/layer.tar (plain tar; here one gzip too), <id>/json, <id>/VERSION,
// <config hex>.json, manifest.json and repositories; plus a Docker 25
// style symlink <id>/layer.tar -> ../blobs/sha256/<hex>.
func arcLegacy(t testing.TB) (archive []byte, config digest.Digest, layers []digest.Digest) {
	t.Helper()
	l1 := arcLayer(t, "etc/hostname=old")
	l2 := arcLayer(t, "usr/bin/tool=x")
	l3 := arcLayer(t, "var/log/x=y")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(l2)
	zw.Close()
	cfg := fmt.Sprintf(`{"architecture":%q,"os":"linux","config":{"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":[%q,%q,%q]},"history":[{"created_by":"x"}]}`,
		HostPlatform().Architecture, digest.FromBytes(l1), digest.FromBytes(l2), digest.FromBytes(l3))
	cd := digest.FromString(cfg)
	id1, id2, id3 := strings.Repeat("1", 64), strings.Repeat("2", 64), strings.Repeat("3", 64)
	l3hex := digest.FromBytes(l3).Encoded()
	man := fmt.Sprintf(`[{"Config":%q,"RepoTags":["old:1"],"Layers":[%q,%q,%q]}]`,
		cd.Encoded()+".json", id1+"/layer.tar", id2+"/layer.tar", id3+"/layer.tar")
	repos := fmt.Sprintf(`{"old":{"1":%q,"2":%q},"other":{"x":"0000"}}`, id3, id3)
	archive = arcTar(t,
		arcEntry{name: id1 + "/", typ: tar.TypeDir},
		arcFile(id1+"/VERSION", []byte("1.0")),
		arcFile(id1+"/json", []byte(`{"id":"`+id1+`"}`)),
		arcFile(id1+"/layer.tar", l1),
		arcFile(id2+"/layer.tar", gz.Bytes()),
		arcEntry{name: id3 + "/layer.tar", typ: tar.TypeSymlink, link: "../blobs/sha256/" + l3hex},
		arcFile("blobs/sha256/"+l3hex, l3),
		arcFile(cd.Encoded()+".json", []byte(cfg)),
		arcFile("manifest.json", []byte(man)),
		arcFile("repositories", []byte(repos)),
	)
	return archive, cd, []digest.Digest{digest.FromBytes(l1), digest.FromBytes(gz.Bytes()), digest.FromBytes(l3)}
}

func TestLoadLegacyDockerArchive(t *testing.T) {
	ctx := context.Background()
	archive, cd, layers := arcLegacy(t)
	s := arcStore(t)
	loaded, err := s.Load(ctx, bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, img := range loaded {
		names = append(names, img.Name.Familiar())
	}
	if fmt.Sprint(names) != "[old:1 old:2]" {
		t.Fatalf("names %v, want old:1 and old:2 (RepoTags and repositories)", names)
	}
	m, _, err := s.Manifest(ctx, loaded[0])
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.Digest != cd {
		t.Errorf("image ID %s, want the archive's config %s", m.Config.Digest, cd)
	}
	wantMT := []string{ocispec.MediaTypeImageLayer, ocispec.MediaTypeImageLayerGzip, ocispec.MediaTypeImageLayer}
	for i, l := range m.Layers {
		if l.Digest != layers[i] || l.MediaType != wantMT[i] {
			t.Errorf("layer %d: %s %s, want %s %s", i, l.Digest, l.MediaType, layers[i], wantMT[i])
		}
	}
	if _, err := s.Unpack(ctx, loaded[0]); err != nil {
		t.Fatal(err)
	}
	// The same store saves it again, and that loads elsewhere.
	again := arcSave(t, s, loaded, SaveDocker)
	if _, err := arcStore(t).Load(ctx, bytes.NewReader(again)); err != nil {
		t.Fatal(err)
	}
}

// TestLoadUnnamed: an index entry without a name is loaded, returned
// with a zero Name, and tags nothing.
func TestLoadUnnamed(t *testing.T) {
	ctx := context.Background()
	src := arcStore(t)
	target := arcImage(t, src, nil, arcLayer(t, "f=1"))
	archive := arcSave(t, src, []Image{{Target: target}}, SaveDocker)
	dst := arcStore(t)
	loaded, err := dst.Load(ctx, bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 1 || loaded[0].Name.String() != "" || loaded[0].Target.Digest != target.Digest {
		t.Fatalf("loaded %+v, want the one unnamed image %s", loaded, target.Digest)
	}
	if _, err := dst.ID(ctx, loaded[0]); err != nil {
		t.Fatal(err)
	}
	// It is listed as an image without a name (Docker's <none>:<none>).
	if l, _ := dst.List(ctx); len(l) != 1 || !l[0].Dangling() || l[0].Target.Digest != target.Digest {
		t.Fatalf("after loading an unnamed image, List = %+v", l)
	}
	// A ref.name that is a full reference (skopeo's oci-archive:f:name)
	// names the image; a bare tag does not.
	for ann, want := range map[string]string{"foo/bar:baz": "docker.io/foo/bar:baz", "latest": ""} {
		r, err := archiveImageName(map[string]string{ocispec.AnnotationRefName: ann})
		if err != nil || r.String() != want {
			t.Errorf("ref.name %q: %q, %v; want %q", ann, r.String(), err, want)
		}
	}
}

// arcMutate returns the entries of archive changed by f.
func arcMutate(t testing.TB, archive []byte, f func([]arcEntry) []arcEntry) []byte {
	t.Helper()
	return arcTar(t, f(arcEntries(t, archive))...)
}

// arcFind is the index of the first entry whose name has prefix and whose
// body satisfies ok (nil: any).
func arcFind(es []arcEntry, prefix string, ok func([]byte) bool) int {
	for i, e := range es {
		if strings.HasPrefix(e.name, prefix) && e.typ == tar.TypeReg && (ok == nil || ok(e.body)) {
			return i
		}
	}
	return -1
}

func arcIsGzip(b []byte) bool { return len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b }

// arcWithBlob rebuilds a one-image OCI archive whose config blob is cfg.
func arcWithConfig(t testing.TB, cfg []byte) []byte {
	t.Helper()
	cd := digest.FromBytes(cfg)
	m := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":%q,"digest":%q,"size":%d},"layers":[]}`,
		ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageConfig, cd, len(cfg))
	md := digest.FromString(m)
	idx := fmt.Sprintf(`{"schemaVersion":2,"manifests":[{"mediaType":%q,"digest":%q,"size":%d,"annotations":{%q:"bad:1"}}]}`,
		ocispec.MediaTypeImageManifest, md, len(m), AnnotationImageName)
	return arcTar(t,
		arcFile("blobs/sha256/"+cd.Encoded(), cfg),
		arcFile("blobs/sha256/"+md.Encoded(), []byte(m)),
		arcFile("index.json", []byte(idx)),
		arcFile("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)),
	)
}

func TestLoadRefusesBadArchives(t *testing.T) {
	ctx := context.Background()
	src, imgs := arcSource(t)
	good := arcSave(t, src, imgs, SaveDocker)
	legacy, _, _ := arcLegacy(t)
	layerEntry := func(es []arcEntry) int { return arcFind(es, "blobs/", arcIsGzip) }

	cases := []struct {
		name    string
		archive []byte
		want    string
	}{
		{"empty", nil, "archive is empty"},
		{"garbage", []byte(strings.Repeat("not a tar ", 100)), "read archive"},
		{"truncated mid-blob", good[:len(good)/2], "unexpected EOF"},
		{"truncated gzip", func() []byte {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			zw.Write(good)
			zw.Close()
			return b.Bytes()[:b.Len()/2]
		}(), "unexpected EOF"},
		{"corrupt gzip layer", arcMutate(t, good, func(es []arcEntry) []arcEntry {
			i := layerEntry(es)
			es[i].body[len(es[i].body)/2] ^= 0xff
			return es
		}), "digest mismatch"},
		{"blob under another blob's name", arcMutate(t, good, func(es []arcEntry) []arcEntry {
			i := layerEntry(es)
			es[i].name = "blobs/sha256/" + strings.Repeat("ab", 32)
			return es
		}), `archive entry "blobs/sha256/abab`},
		{"manifest names a missing blob", arcMutate(t, good, func(es []arcEntry) []arcEntry {
			i := layerEntry(es)
			return append(es[:i], es[i+1:]...)
		}), "is not in the archive"},
		{"config not JSON", arcWithConfig(t, []byte("this is not JSON")), "parse image config"},
		{"config with wrong diff_ids count", arcWithConfig(t, []byte(`{"rootfs":{"type":"layers","diff_ids":["sha256:`+strings.Repeat("0", 64)+`"]}}`)), "1 diff_ids for 0 layers"},
		{"index.json not JSON", arcMutate(t, good, func(es []arcEntry) []arcEntry {
			es[arcFind(es, "index.json", nil)].body = []byte("{nope")
			return es
		}), "index.json"},
		{"manifest.json not JSON", arcMutate(t, legacy, func(es []arcEntry) []arcEntry {
			es[arcFind(es, "manifest.json", nil)].body = []byte("[{")
			return es
		}), "manifest.json"},
		{"huge index.json", arcMutate(t, good, func(es []arcEntry) []arcEntry {
			es[arcFind(es, "index.json", nil)].body = bytes.Repeat([]byte(" "), MaxManifestSize+1)
			return es
		}), "more than the"},
		{"duplicate index.json", arcMutate(t, good, func(es []arcEntry) []arcEntry {
			return append(es, es[arcFind(es, "index.json", nil)])
		}), "appears twice"},
		{"dot-dot entry", arcMutate(t, good, func(es []arcEntry) []arcEntry {
			return append([]arcEntry{arcFile("../escape", []byte("x"))}, es...)
		}), "climbs out"},
		{"deep dot-dot entry", arcMutate(t, good, func(es []arcEntry) []arcEntry {
			return append([]arcEntry{arcFile("blobs/../../../escape", []byte("x"))}, es...)
		}), "climbs out"},
		{"absolute entry", arcMutate(t, good, func(es []arcEntry) []arcEntry {
			return append([]arcEntry{arcFile("/tmp/escape", []byte("x"))}, es...)
		}), "absolute path"},
		{"symlink out", arcMutate(t, legacy, func(es []arcEntry) []arcEntry {
			return append([]arcEntry{{name: "x/layer.tar", typ: tar.TypeSymlink, link: "../../etc/passwd"}}, es...)
		}), "climbs out"},
		{"manifest.json path out", arcMutate(t, legacy, func(es []arcEntry) []arcEntry {
			es[arcFind(es, "manifest.json", nil)].body = []byte(`[{"Config":"../../etc/passwd","Layers":[]}]`)
			return es
		}), "climbs out"},
		{"sha512 blob", arcMutate(t, good, func(es []arcEntry) []arcEntry {
			return append([]arcEntry{arcFile("blobs/sha512/"+strings.Repeat("0", 128), []byte("x"))}, es...)
		}), "only sha256"},
		{"docker corrupt gzip layer", arcMutate(t, legacy, func(es []arcEntry) []arcEntry {
			i := arcFind(es, "", arcIsGzip)
			es[i].body[len(es[i].body)-9] ^= 0xff // the gzip CRC
			return es
		}), "Layers[1]"},
		{"docker plain layer not matching diff_ids", arcMutate(t, legacy, func(es []arcEntry) []arcEntry {
			es[arcFind(es, strings.Repeat("1", 64)+"/layer.tar", nil)].body = arcLayer(t, "etc/hostname=new")
			return es
		}), "the config's diff_ids[0] says"},
		{"docker bad RepoTag", arcMutate(t, legacy, func(es []arcEntry) []arcEntry {
			i := arcFind(es, "manifest.json", nil)
			es[i].body = bytes.Replace(es[i].body, []byte("old:1"), []byte("UPPER:1"), 1)
			return es
		}), "RepoTags[0]"},
		{"neither format", arcTar(t, arcFile("hello", []byte("x"))), "neither an OCI layout"},
		{"legacy without manifest.json", arcMutate(t, legacy, func(es []arcEntry) []arcEntry {
			i := arcFind(es, "manifest.json", nil)
			return append(es[:i], es[i+1:]...)
		}), "before Docker 1.10"},
		{"bad oci-layout", arcMutate(t, good, func(es []arcEntry) []arcEntry {
			es[arcFind(es, "oci-layout", nil)].body = []byte(`{"imageLayoutVersion":"2.0.0"}`)
			return es
		}), "oci-layout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// A fresh store each time: a blob an earlier failure left
			// would stand in for one this archive lacks.
			dst := arcStore(t)
			arcImage(t, dst, []string{"already:here"}, arcLayer(t, "keep=1"))
			before := arcDescribe(t, dst)
			outside := filepath.Join(filepath.Dir(dst.Root()), "escape")
			loaded, err := dst.Load(ctx, bytes.NewReader(c.archive))
			if err == nil {
				t.Fatalf("loaded %+v, want an error", loaded)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
			t.Logf("%s: %v", c.name, err)
			if after := arcDescribe(t, dst); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatalf("a failed load changed the names: %+v", after)
			}
			arcCheckClean(t, dst)
			if _, err := os.Lstat(outside); err == nil {
				t.Fatalf("%s was written", outside)
			}
			// GC takes what the failure left; the store's own image
			// survives and the store checks clean.
			if _, err := dst.GC(ctx); err != nil {
				t.Fatal(err)
			}
			if after := arcDescribe(t, dst); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatalf("GC after a failed load changed the names: %+v", after)
			}
			var live []digest.Digest
			dst.Content().Walk(ctx, func(i content.Info) error { live = append(live, i.Digest); return nil })
			if len(live) != 3 {
				t.Errorf("after GC the store holds %d blobs, want the 3 of its own image", len(live))
			}
			rep, err := dst.Content().Check(ctx, false)
			if err != nil || !rep.OK() {
				t.Fatalf("store check after GC: %+v %v", rep, err)
			}
		})
	}
}

func TestSaveRefusesIncompleteImage(t *testing.T) {
	ctx := context.Background()
	s := arcStore(t)
	target := arcImage(t, s, []string{"x"}, arcLayer(t, "f=1"))
	var buf bytes.Buffer
	if err := s.Save(ctx, &buf, nil, SaveDocker); err == nil {
		t.Fatal("saving no images worked")
	}
	b, _ := s.Content().ReadBlob(target.Digest, MaxManifestSize)
	m, err := DecodeManifest(b, target.MediaType)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Content().Delete(m.Layers[0].Digest); err != nil {
		t.Fatal(err)
	}
	imgs, _ := s.List(ctx)
	err = s.Save(ctx, &buf, imgs, SaveOCI)
	if err == nil || !strings.Contains(err.Error(), m.Layers[0].Digest.String()) {
		t.Fatalf("saving an image missing a layer: %v, want an error naming the layer", err)
	}
	if buf.Len() != 0 {
		t.Fatalf("%d bytes written before the error", buf.Len())
	}
	if _, err := ParseSaveFormat("tarball"); err == nil {
		t.Fatal("ParseSaveFormat took an unknown format")
	}
}

// arcRun runs an interop tool, failing the test with its output.
func arcRun(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// TestArchiveInterop checks the archives against skopeo and umoci (Debian
// packages skopeo, umoci), both ways; it skips when they are missing.
func TestArchiveInterop(t *testing.T) {
	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		t.Skip("skopeo not installed (apt-get install skopeo)")
	}
	ctx := context.Background()
	src := arcStore(t)
	target := arcImage(t, src, []string{"interop/app:1"}, arcLayer(t, "etc/os-release=x"), arcLayer(t, "app=y"))
	img, err := src.Get(ctx, mustRef(t, "interop/app:1"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := src.ID(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, f SaveFormat) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, arcSave(t, src, []Image{img}, f), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dockerTar, ociTar := write("docker.tar", SaveDocker), write("oci.tar", SaveOCI)

	// skopeo reads both halves of the Docker format and the pure OCI one.
	for _, ref := range []string{"oci-archive:" + ociTar, "oci-archive:" + dockerTar, "docker-archive:" + dockerTar} {
		var got struct {
			Digest digest.Digest
			Layers []string
		}
		if err := json.Unmarshal(arcRun(t, skopeo, "inspect", ref), &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Layers) != 2 {
			t.Errorf("skopeo inspect %s: %d layers, want 2", ref, len(got.Layers))
		}
		if strings.HasPrefix(ref, "oci-archive:") && got.Digest != target.Digest {
			t.Errorf("skopeo inspect %s: digest %s, want %s", ref, got.Digest, target.Digest)
		}
		var cfg ocispec.Image
		if err := json.Unmarshal(arcRun(t, skopeo, "inspect", "--config", ref), &cfg); err != nil || len(cfg.RootFS.DiffIDs) != 2 {
			t.Errorf("skopeo inspect --config %s: %+v %v", ref, cfg.RootFS, err)
		}
	}

	// skopeo writes archives berth loads: its docker-archive (plain
	// layers, <hex>.json config) and an OCI archive named by ref.name.
	skDocker, skOCI := filepath.Join(dir, "sk-docker.tar"), filepath.Join(dir, "sk-oci.tar")
	arcRun(t, skopeo, "copy", "-q", "oci-archive:"+ociTar, "docker-archive:"+skDocker+":interop/app:2")
	arcRun(t, skopeo, "copy", "-q", "docker-archive:"+dockerTar, "oci-archive:"+skOCI+":interop/app:3")
	for file, name := range map[string]string{skDocker: "docker.io/interop/app:2", skOCI: "docker.io/interop/app:3"} {
		dst := arcStore(t)
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		loaded, err := dst.Load(ctx, f)
		f.Close()
		if err != nil {
			t.Fatalf("load %s: %v", filepath.Base(file), err)
		}
		if len(loaded) != 1 || loaded[0].Name.String() != name {
			t.Fatalf("load %s: %+v, want %s", filepath.Base(file), loaded, name)
		}
		if got, err := dst.ID(ctx, loaded[0]); err != nil || got != id {
			t.Errorf("load %s: image ID %s (%v), want %s", filepath.Base(file), got, err, id)
		}
		if _, err := dst.Unpack(ctx, loaded[0]); err != nil {
			t.Errorf("load %s: unpack: %v", filepath.Base(file), err)
		}
	}

	// umoci reads the layout, and unpacks it (checking layer digests).
	umoci, err := exec.LookPath("umoci")
	if err != nil {
		t.Log("umoci not installed (apt-get install umoci): skipping its half")
		return
	}
	layout := filepath.Join(dir, "layout")
	if err := os.Mkdir(layout, 0o755); err != nil {
		t.Fatal(err)
	}
	arcRun(t, "tar", "-xf", ociTar, "-C", layout)
	if out := arcRun(t, umoci, "ls", "--layout", layout); strings.TrimSpace(string(out)) != "1" {
		t.Errorf("umoci ls: %q, want the tag 1", out)
	}
	bundle := filepath.Join(dir, "bundle")
	arcRun(t, umoci, "unpack", "--image", layout+":1", bundle)
	if b, err := os.ReadFile(filepath.Join(bundle, "rootfs", "app")); err != nil || string(b) != "y" {
		t.Errorf("umoci unpack: app = %q, %v", b, err)
	}
}

func mustRef(t testing.TB, s string) Ref {
	t.Helper()
	r, err := ParseRef(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// arcHelperEnv names the store root a helper process loads into.
const arcHelperEnv = "BERTH_TEST_ARCHIVE_LOAD_ROOT"

// TestArchiveLoadHelperProcess is not a test: TestLoadKilled runs the test
// binary again with it, to Load stdin into a store and be killed.
func TestArchiveLoadHelperProcess(t *testing.T) {
	root := os.Getenv(arcHelperEnv)
	if root == "" {
		t.Skip("helper process for TestLoadKilled")
	}
	ctx := context.Background()
	s, err := Open(ctx, root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Load(ctx, os.Stdin); err != nil {
		t.Fatal(err)
	}
}

// TestLoadKilled kills a loading process with SIGKILL at several points
// and checks the store after: no name without a whole image, no corrupt
// blob, and the same archive then loads.
func TestLoadKilled(t *testing.T) {
	arcRequireRoot(t)
	ctx := context.Background()
	src := arcStore(t)
	big := make([]byte, 8<<20)
	for i := range big {
		big[i] = byte(i*7 + i>>9) // little repetition, so gzip keeps it big
	}
	arcImage(t, src, []string{"big:1"}, arcLayer(t, "big="+string(big)), arcLayer(t, "small=1"))
	imgs, _ := src.List(ctx)
	archive := arcSave(t, src, imgs, SaveDocker)

	for _, pct := range []int{30, 70, 100} {
		t.Run(fmt.Sprintf("at %d%%", pct), func(t *testing.T) {
			root := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestArchiveLoadHelperProcess$", "-test.count=1")
			cmd.Env = append(os.Environ(), arcHelperEnv+"="+root)
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			t.Cleanup(func() {
				cmd.Process.Kill() // our own child, by PID
				<-done
			})
			n := len(archive) * pct / 100
			if _, err := stdin.Write(archive[:n]); err != nil {
				t.Fatal(err)
			}
			if pct < 100 {
				// Let it ingest what it has, then kill it mid-blob.
				cs, err := content.Open(filepath.Join(root, "content"))
				if err != nil {
					t.Fatal(err)
				}
				deadline := time.Now().Add(30 * time.Second)
				for {
					ing, _ := cs.Ingests(ctx)
					if len(ing) > 0 && ing[0].Offset > 0 || time.Now().After(deadline) {
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-done
			done <- nil // for the cleanup's receive

			s, err := Open(ctx, root, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			// Any name recorded points at a whole image.
			names, err := s.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if pct < 100 && len(names) != 0 {
				t.Fatalf("a load killed at %d%% left names: %+v", pct, names)
			}
			for _, img := range names {
				if _, err := s.Unpack(ctx, img); err != nil {
					t.Fatalf("%s after the kill: %v", img.Name, err)
				}
			}
			arcCheckClean(t, s)
			if _, err := s.GC(ctx); err != nil {
				t.Fatal(err)
			}
			loaded, err := s.Load(ctx, bytes.NewReader(archive))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Unpack(ctx, loaded[0]); err != nil {
				t.Fatal(err)
			}
			rep, err := s.Content().Check(ctx, true)
			if err != nil || !rep.OK() {
				t.Fatalf("store check: %+v %v", rep, err)
			}
			t.Logf("killed at %d%%: %d names survived; check repaired %d findings", pct, len(names), len(rep.Findings))
		})
	}
}

// TestSaveLoadIndex: a multi-platform index whose other platforms were
// never pulled saves with the platforms present and loads back whole.
func TestSaveLoadIndex(t *testing.T) {
	ctx := context.Background()
	src := arcStore(t)
	host := arcImage(t, src, nil, arcLayer(t, "f=host"))
	host.Platform = &ocispec.Platform{OS: HostPlatform().OS, Architecture: HostPlatform().Architecture}
	other := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("never pulled"), Size: 10,
		Platform: &ocispec.Platform{OS: "linux", Architecture: "s390x"}}
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{other, host}}
	idx.SchemaVersion = 2
	b, _ := json.Marshal(idx)
	release, _ := src.Content().Hold(ctx)
	target, err := src.Content().WriteBlob(ctx, ocispec.MediaTypeImageIndex, b)
	if err == nil {
		err = src.Tag(ctx, mustRef(t, "multi:1"), target)
	}
	release()
	if err != nil {
		t.Fatal(err)
	}
	imgs, _ := src.List(ctx)
	for _, f := range []SaveFormat{SaveDocker, SaveOCI} {
		archive := arcSave(t, src, imgs, f)
		for _, e := range arcEntries(t, archive) {
			if e.name == "blobs/sha256/"+other.Digest.Encoded() {
				t.Fatal("the archive holds a platform that is not in the store")
			}
		}
		dst := arcStore(t)
		if _, err := dst.Load(ctx, bytes.NewReader(archive)); err != nil {
			t.Fatal(err)
		}
		if want, got := arcDescribe(t, src), arcDescribe(t, dst); fmt.Sprint(want) != fmt.Sprint(got) {
			t.Fatalf("%s: got %+v, want %+v", f, got, want)
		}
	}
}

// TestArchiveDocker loads a saved archive into Docker and a `docker save`
// archive into berth. It needs a docker CLI whose daemon answers
// (DOCKER_HOST may point at one started for the test); it skips
// otherwise. It touches only an image of a random name, removed after.
func TestArchiveDocker(t *testing.T) {
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("docker not installed")
	}
	if out, err := exec.Command(docker, "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		t.Skipf("no Docker daemon answers: %v: %s", err, bytes.TrimSpace(out))
	} else {
		t.Logf("Docker %s", bytes.TrimSpace(out))
	}
	ctx := context.Background()
	src := arcStore(t)
	name := fmt.Sprintf("berth-test/archive-%s:1", randomHex())
	name2 := strings.TrimSuffix(name, ":1") + ":2"
	base := arcLayer(t, "etc/os-release=x")
	arcImage(t, src, []string{name}, base, arcLayer(t, "app=y"))
	arcImage(t, src, []string{name2}, base, arcLayer(t, "app=z"))
	img, err := src.Get(ctx, mustRef(t, name))
	if err != nil {
		t.Fatal(err)
	}
	img2, err := src.Get(ctx, mustRef(t, name2))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := src.ID(ctx, img)
	t.Cleanup(func() { exec.Command(docker, "rmi", "-f", name, name2, "copy/"+name).Run() })

	// Two images sharing a layer, in one archive.
	dir := t.TempDir()
	saved := filepath.Join(dir, "berth.tar")
	if err := os.WriteFile(saved, arcSave(t, src, []Image{img, img2}, SaveDocker), 0o644); err != nil {
		t.Fatal(err)
	}
	out := arcRun(t, docker, "load", "-i", saved)
	if !strings.Contains(string(out), "Loaded image: "+name) || !strings.Contains(string(out), "Loaded image: "+name2) {
		t.Errorf("docker load: %s", out)
	}
	if out := strings.TrimSpace(string(arcRun(t, docker, "image", "inspect", "--format", "{{.Id}}", name))); out != id.String() {
		t.Errorf("docker's image ID %s, berth's %s", out, id)
	}

	arcRun(t, docker, "tag", name, "copy/"+name)
	back := filepath.Join(dir, "docker.tar")
	arcRun(t, docker, "save", "-o", back, "copy/"+name)
	f, err := os.Open(back)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dst := arcStore(t)
	loaded, err := dst.Load(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 1 || loaded[0].Name.Familiar() != "copy/"+name {
		t.Fatalf("loaded %+v from docker save, want copy/%s", loaded, name)
	}
	if got, _ := dst.ID(ctx, loaded[0]); got != id {
		t.Errorf("image ID after docker save → berth load: %s, want %s", got, id)
	}
	if _, err := dst.Unpack(ctx, loaded[0]); err != nil {
		t.Fatal(err)
	}
}

// arcBenchArchive is an image with one 32 MiB layer, saved.
func arcBenchArchive(b *testing.B, f SaveFormat) (*Store, []Image, []byte) {
	b.Helper()
	src := arcStore(b)
	big := make([]byte, 32<<20)
	rand.NewChaCha8([32]byte{}).Read(big) // incompressible, like real binaries after gzip
	arcImage(b, src, []string{"bench:1"}, arcLayer(b, "big="+string(big)))
	imgs, _ := src.List(context.Background())
	return src, imgs, arcSave(b, src, imgs, f)
}

func BenchmarkSave(b *testing.B) {
	src, imgs, archive := arcBenchArchive(b, SaveDocker)
	b.SetBytes(int64(len(archive)))
	for b.Loop() {
		if err := src.Save(context.Background(), io.Discard, imgs, SaveDocker); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	_, _, archive := arcBenchArchive(b, SaveDocker)
	b.SetBytes(int64(len(archive)))
	for b.Loop() {
		b.StopTimer()
		dst := arcStore(b)
		b.StartTimer()
		if _, err := dst.Load(context.Background(), bytes.NewReader(archive)); err != nil {
			b.Fatal(err)
		}
	}
}
