package content

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestCheckCleanStore(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for i := range 3 {
		if _, err := s.WriteBlob(ctx, "x", testData(uint64(50+i), 1000)); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := s.Check(ctx, false)
	if err != nil || !rep.OK() || len(rep.Findings) != 0 || rep.Blobs != 3 || rep.Bytes != 3000 {
		t.Fatalf("Check = %+v, %v", rep, err)
	}
}

func TestCheckFindsAndRepairs(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	dir := s.Dir()
	good, err := s.WriteBlob(ctx, "x", []byte("good"))
	if err != nil {
		t.Fatal(err)
	}
	// A corrupt blob: content changed under its name.
	bad, err := s.WriteBlob(ctx, "x", []byte("was good"))
	if err != nil {
		t.Fatal(err)
	}
	badPath, _ := s.Path(bad.Digest)
	os.Chmod(badPath, 0o644)
	os.WriteFile(badPath, []byte("bit rot!"), 0o444)
	// A symlink named as a blob, pointing outside the store: repair must
	// remove the link, never its target.
	outside := filepath.Join(t.TempDir(), "outside")
	os.WriteFile(outside, []byte("not yours"), 0o644)
	link := digest.FromString("link")
	os.Symlink(outside, filepath.Join(dir, "blobs", "sha256", link.Encoded()))
	// Stray files: temp files left by kill -9 and junk names.
	os.WriteFile(filepath.Join(dir, tmpPrefix+"1234"), nil, 0o600)
	os.WriteFile(filepath.Join(dir, "blobs", "sha256", "junk"), nil, 0o600)
	os.WriteFile(filepath.Join(dir, "ingest", tmpPrefix+"5678"), nil, 0o600)
	os.Mkdir(filepath.Join(dir, "blobs", "md5"), 0o700)
	// A stale ingest (kept by Close) and an active one (held).
	data := testData(60, 1000)
	w, err := s.Writer(ctx, "stale", descOf(data))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data[:300])
	w.Close()
	active, err := s.Writer(ctx, "active", ocispec.Descriptor{})
	if err != nil {
		t.Fatal(err)
	}
	defer active.Abort()
	active.Write([]byte("in progress"))
	// A missing index.json.
	os.Remove(filepath.Join(dir, "index.json"))

	kinds := func(r Report) map[FindingKind]int {
		m := map[FindingKind]int{}
		for _, f := range r.Findings {
			m[f.Kind]++
		}
		return m
	}
	want := map[FindingKind]int{KindCorruptBlob: 2, KindStrayFile: 4, KindStaleIngest: 1, KindBadLayout: 1}

	before := listTree(t, dir)
	rep, err := s.Check(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.ActiveIngests != 1 || rep.Blobs != 2 {
		t.Fatalf("report = %+v", rep)
	}
	if got := kinds(rep); !maps.Equal(got, want) {
		t.Fatalf("findings = %v, want %v: %+v", got, want, rep.Findings)
	}
	for _, f := range rep.Findings {
		if f.Kind == KindStaleIngest && (f.Ref != "stale" || f.Digest != descOf(data).Digest) {
			t.Errorf("stale ingest finding = %+v", f)
		}
		if f.Kind == KindCorruptBlob && f.Digest != bad.Digest && f.Digest != link {
			t.Errorf("corrupt finding = %+v", f)
		}
	}
	if after := listTree(t, dir); !slices.Equal(before, after) {
		t.Fatal("Check without repair changed the store")
	}

	rep, err = s.Check(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(kinds(rep), want) {
		t.Fatalf("findings = %+v", rep.Findings)
	}
	for _, f := range rep.Findings {
		// Only the unknown blobs/md5 is left alone.
		if f.Repaired == (f.Path == filepath.Join("blobs", "md5")) {
			t.Errorf("finding %+v: repaired = %v", f, f.Repaired)
		}
	}
	if b, err := os.ReadFile(outside); err != nil || string(b) != "not yours" {
		t.Fatalf("symlink target touched: %q, %v", b, err)
	}
	if s.Exists(bad.Digest) || !s.Exists(good.Digest) {
		t.Fatal("repair removed the wrong blob")
	}
	os.Remove(filepath.Join(dir, "blobs", "md5"))
	rep, err = s.Check(ctx, false)
	if err != nil || len(rep.Findings) != 0 || rep.ActiveIngests != 1 {
		t.Fatalf("after repair: %+v, %v", rep, err)
	}
	// The active writer was left alone and still commits.
	if _, err := active.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// A store check after a kill -9 during commit's last step: the blob is
	// in blobs/, the emptied ingest directory remains.
	name, _ := ingestName("killed-after-rename")
	os.MkdirAll(filepath.Join(dir, ingestDir, name), 0o700)
	rep, err = s.Check(ctx, true)
	if err != nil || len(rep.Findings) != 1 || rep.Findings[0].Kind != KindStaleIngest || !rep.OK() {
		t.Fatalf("after kill during commit: %+v, %v", rep, err)
	}
	assertClean(t, s)
}

// TestQuarantineKeepsReplacement: a corrupt blob that a writer replaced
// with a good copy while Check hashed it is kept.
func TestQuarantineKeepsReplacement(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	b := []byte("content")
	desc, err := s.WriteBlob(ctx, "x", b)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.Path(desc.Digest)
	corrupt, err := os.Open(p) // what Check hashed
	if err != nil {
		t.Fatal(err)
	}
	defer corrupt.Close()
	// A writer commits a fresh copy over it.
	tmp := filepath.Join(s.Dir(), "fresh")
	os.WriteFile(tmp, b, 0o444)
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	c := &checker{s: s, repair: true}
	if err := c.quarantine(corrupt, p); err == nil {
		t.Fatal("quarantine removed a replaced blob")
	}
	assertBlob(t, s, desc.Digest, b)
	assertClean(t, s)
}

func TestCheckRepairsLayout(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	os.WriteFile(filepath.Join(s.Dir(), "oci-layout"), []byte("garbage"), 0o644)
	os.Remove(filepath.Join(s.Dir(), "lock"))
	rep, err := s.Check(ctx, true)
	if err != nil || len(rep.Findings) != 2 || !rep.OK() {
		t.Fatalf("Check = %+v, %v", rep, err)
	}
	if _, err := Open(s.Dir()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ingest(ctx, bytes.NewReader([]byte("x")), ocispec.Descriptor{}); err != nil {
		t.Fatal(err)
	}
}
