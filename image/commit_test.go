package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
	"time"

	"berth/content"
	"berth/layer"
	"berth/snapshot"
)

// ieWriteChanges makes the same changes in a mounted rootfs.
func ieWriteChanges(t *testing.T, dir string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "new.txt"), []byte("new content"), 0o640))
	must(os.WriteFile(filepath.Join(dir, "etc/hostname"), []byte("changed\n"), 0o644))
	must(os.Remove(filepath.Join(dir, "data/old")))
	must(os.Mkdir(filepath.Join(dir, "newdir"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "newdir/f"), []byte("f"), 0o644))
	must(os.Symlink("../etc/hostname", filepath.Join(dir, "newdir/link")))
}

// TestDiffCommit: the changes made in a mounted rootfs show in Diff, and
// Commit makes an image whose rootfs holds them; committing the same
// changes again gives the same layer; history has both steps.
func TestDiffCommit(t *testing.T) {
	ieRequireRoot(t)
	for _, sn := range ieSnapshotters {
		t.Run(sn, func(t *testing.T) {
			ctx := context.Background()
			s := ieOpen(t, sn)
			tree := ieBaseTree()
			base, baseID, err := s.Import(ctx, bytes.NewReader(ieTar(t, tree)), ImportOptions{Ref: "base:1", Changes: []string{"CMD [\"/bin/tool\"]", "ENV A=1"}})
			if err != nil {
				t.Fatal(err)
			}
			dir := ieMount(t, s, "c1", base)
			ieWriteChanges(t, dir)

			changes, err := s.Diff(ctx, "c1")
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]layer.ChangeKind{}
			for _, c := range changes {
				got[c.Path] = c.Kind
			}
			want := map[string]layer.ChangeKind{
				"/new.txt": layer.Added, "/etc/hostname": layer.Modified, "/data/old": layer.Deleted,
				"/newdir": layer.Added, "/newdir/f": layer.Added, "/newdir/link": layer.Added,
				"/data": layer.Modified,
			}
			// overlay copies /etc up (modified); a copy shows it unchanged,
			// as its mtime did not move.
			if k, ok := got["/etc"]; ok && k != layer.Modified {
				t.Errorf("diff /etc = %v", k)
			}
			delete(got, "/etc")
			for p, k := range want {
				if got[p] != k {
					t.Errorf("diff %s = %v, want %v (all: %v)", p, got[p], k, changes)
				}
			}
			for p := range got {
				if _, ok := want[p]; !ok && p != "/" {
					t.Errorf("unexpected change %s %s", got[p], p)
				}
			}

			img, id, err := s.Commit(ctx, "c1", CommitOptions{
				Ref: "committed:1", Author: "Ann <ann@example.com>", Message: "my change",
				Changes: []string{"ENV B=$A-2", "WORKDIR /data"}, CreatedBy: "/bin/sh -c edit",
			})
			if err != nil {
				t.Fatal(err)
			}
			if id == baseID {
				t.Fatal("commit kept the base's ID")
			}
			m, _, err := s.Manifest(ctx, img)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := s.Config(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Layers) != 2 || len(cfg.RootFS.DiffIDs) != 2 || len(cfg.History) != 2 {
				t.Fatalf("layers %d diff IDs %d history %d, want 2 each", len(m.Layers), len(cfg.RootFS.DiffIDs), len(cfg.History))
			}
			if cfg.Author != "Ann <ann@example.com>" || !reflect.DeepEqual(cfg.Config.Env, []string{"A=1", "B=1-2"}) ||
				cfg.Config.WorkingDir != "/data" || !reflect.DeepEqual(cfg.Config.Cmd, []string{"/bin/tool"}) {
				t.Fatalf("config %+v author %q", cfg.Config, cfg.Author)
			}
			if h := cfg.History[1]; h.Comment != "my change" || h.CreatedBy != "/bin/sh -c edit" || h.Author != cfg.Author || h.EmptyLayer {
				t.Fatalf("history %+v", h)
			}

			// Reproducible: the same rootfs commits to the same layer.
			img2, _, err := s.Commit(ctx, "c1", CommitOptions{Ref: "committed:2"})
			if err != nil {
				t.Fatal(err)
			}
			m2, _, err := s.Manifest(ctx, img2)
			if err != nil {
				t.Fatal(err)
			}
			if m2.Layers[1].Digest != m.Layers[1].Digest {
				t.Fatalf("second commit layer %s, first %s", m2.Layers[1].Digest, m.Layers[1].Digest)
			}

			// The new image's rootfs shows the changes.
			dir2 := ieMount(t, s, "c2", img)
			if b, err := os.ReadFile(filepath.Join(dir2, "etc/hostname")); err != nil || string(b) != "changed\n" {
				t.Fatalf("etc/hostname = %q, %v", b, err)
			}
			if b, err := os.ReadFile(filepath.Join(dir2, "new.txt")); err != nil || string(b) != "new content" {
				t.Fatalf("new.txt = %q, %v", b, err)
			}
			if _, err := os.Lstat(filepath.Join(dir2, "data/old")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("data/old still there: %v", err)
			}
			if l, err := os.Readlink(filepath.Join(dir2, "newdir/link")); err != nil || l != "../etc/hostname" {
				t.Fatalf("newdir/link = %q, %v", l, err)
			}
			// And so does its export.
			exp := ieExport(t, s, "c2")
			if _, ok := exp["data/old"]; ok {
				t.Fatal("export has data/old")
			}
			if exp["new.txt"].Body != "new content" || exp["new.txt"].Mode != 0o640 {
				t.Fatalf("export new.txt = %+v", exp["new.txt"])
			}
			if diff, err := s.Diff(ctx, "c2"); err != nil || len(diff) != 0 {
				t.Fatalf("fresh rootfs of the commit has changes %v, %v", diff, err)
			}

			// History: newest first, the ID on top, sizes of the files.
			rows, err := s.History(ctx, img)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 {
				t.Fatalf("history rows %+v", rows)
			}
			top, bottom := rows[0], rows[1]
			wantTop := int64(len("new content") + len("changed\n") + len("f") + len("../etc/hostname"))
			if top.ID != id.String() || top.Comment != "my change" || top.Author != cfg.Author || top.Size != wantTop || top.Layer != cfg.RootFS.DiffIDs[1] {
				t.Fatalf("top row %+v, want ID %s size %d", top, id, wantTop)
			}
			var wantBottom int64
			for _, e := range tree {
				switch e.Type {
				case tar.TypeReg:
					wantBottom += int64(len(e.Body))
				case tar.TypeSymlink:
					wantBottom += int64(len(e.Link))
				}
			}
			if bottom.ID != MissingID || bottom.Comment != "Imported from -" || bottom.Size != wantBottom {
				t.Fatalf("bottom row %+v, want size %d", bottom, wantBottom)
			}
		})
	}
}

// TestCommitNoChanges: a rootfs without changes commits to an empty
// layer: same layers, a history entry marked empty_layer.
func TestCommitNoChanges(t *testing.T) {
	ieRequireRoot(t)
	for _, sn := range ieSnapshotters {
		t.Run(sn, func(t *testing.T) {
			ctx := context.Background()
			s := ieOpen(t, sn)
			base, _, err := s.Import(ctx, bytes.NewReader(ieTar(t, ieBaseTree())), ImportOptions{Ref: "base:1"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.PrepareRootfs(ctx, "c", base); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.RemoveRootfs(context.Background(), "c") })
			img, _, err := s.Commit(ctx, "c", CommitOptions{Ref: "same", Changes: []string{"USER nobody"}})
			if err != nil {
				t.Fatal(err)
			}
			m, _, err := s.Manifest(ctx, img)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := s.Config(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Layers) != 1 || len(cfg.History) != 2 || !cfg.History[1].EmptyLayer || cfg.Config.User != "nobody" {
				t.Fatalf("layers %d history %+v user %q", len(m.Layers), cfg.History, cfg.Config.User)
			}
			rows, err := s.History(ctx, img)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 || !rows[0].EmptyLayer || rows[0].Size != 0 || rows[1].ID != MissingID {
				t.Fatalf("history %+v", rows)
			}
		})
	}
}

// TestCommitErrors: unknown rootfs, bad change, digest reference.
func TestCommitErrors(t *testing.T) {
	ieRequireRoot(t)
	ctx := context.Background()
	s := ieOpen(t, "")
	if _, _, err := s.Commit(ctx, "nope", CommitOptions{}); !errors.Is(err, snapshot.ErrNotFound) {
		t.Fatalf("commit of a missing rootfs: %v", err)
	}
	if _, err := s.Diff(ctx, "nope"); err == nil {
		t.Fatal("diff of a missing rootfs succeeded")
	}
	if err := s.Export(ctx, "nope", &bytes.Buffer{}); err == nil {
		t.Fatal("export of a missing rootfs succeeded")
	}
	base, _, err := s.Import(ctx, bytes.NewReader(ieTar(t, ieBaseTree())), ImportOptions{Ref: "base:1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PrepareRootfs(ctx, "c", base); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.RemoveRootfs(context.Background(), "c") })
	if _, _, err := s.Commit(ctx, "c", CommitOptions{Changes: []string{"COPY . /"}}); err == nil {
		t.Fatal("COPY change accepted")
	}
	if _, _, err := s.Commit(ctx, "c", CommitOptions{Ref: "Bad Name"}); err == nil {
		t.Fatal("bad reference accepted")
	}
	imgs, _ := s.List(ctx)
	if len(imgs) != 1 {
		t.Fatalf("images %+v", imgs)
	}
}

// ieCommitKillEnv names the store root a re-executed test binary
// commits in.
const ieCommitKillEnv = "BERTH_TEST_COMMIT_KILL_ROOT"

// TestCommitKillHelper is the child of TestCommitKilled.
func TestCommitKillHelper(t *testing.T) {
	root := os.Getenv(ieCommitKillEnv)
	if root == "" {
		t.Skip("helper process of TestCommitKilled")
	}
	s, err := Open(context.Background(), root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Commit(context.Background(), "c", CommitOptions{Ref: "killed:1"})
	t.Fatalf("commit returned: %v", err)
}

// TestCommitKilled: kill -9 while a commit writes its layer leaves the
// store consistent: the base image only, a stale ingest at most, and the
// rootfs can be committed after.
func TestCommitKilled(t *testing.T) {
	ieRequireRoot(t)
	ctx := context.Background()
	root := t.TempDir()
	s, err := Open(ctx, root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	base, _, err := s.Import(ctx, bytes.NewReader(ieTar(t, ieBaseTree())), ImportOptions{Ref: "base:1"})
	if err != nil {
		t.Fatal(err)
	}
	mounts, err := s.PrepareRootfs(ctx, "c", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s, err := Open(context.Background(), root, Options{}); err == nil {
			s.RemoveRootfs(context.Background(), "c")
			s.Close()
		}
	})
	// 32 MiB of incompressible bytes: compressing them takes long
	// enough to kill the child in the middle.
	dir := t.TempDir()
	if err := snapshot.MountAll(mounts, dir); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "big"))
	if err == nil {
		chunk := make([]byte, 1<<20)
		rng := rand.New(rand.NewPCG(3, 4))
		for i := 0; i < 32 && err == nil; i++ {
			for j := 0; j+8 <= len(chunk); j += 8 {
				binary.LittleEndian.PutUint64(chunk[j:], rng.Uint64())
			}
			_, err = f.Write(chunk)
		}
		f.Close()
	}
	if uerr := snapshot.Unmount(dir); uerr != nil {
		t.Fatal(uerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	s.Close() // the child needs the snapshotter's database

	cmd := exec.Command(os.Args[0], "-test.run=^TestCommitKillHelper$")
	cmd.Env = append(os.Environ(), ieCommitKillEnv+"="+root)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once its layer is being written.
	ingest := filepath.Join(root, "content", "ingest")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if ents, _ := os.ReadDir(ingest); len(ents) > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the child wrote no layer in 30s:\n%s", out.String())
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGKILL)
	if err := cmd.Wait(); err == nil {
		t.Fatalf("the child finished before it was killed:\n%s", out.String())
	}

	s, err = Open(ctx, root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	imgs, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || imgs[0].Name.Familiar() != "base:1" {
		t.Fatalf("images after a killed commit: %+v", imgs)
	}
	rep, err := s.Content().Check(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		if f.Kind != content.KindStaleIngest {
			t.Errorf("finding after kill: %+v", f)
		}
	}
	if _, err := s.Content().Check(ctx, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GC(ctx); err != nil {
		t.Fatal(err)
	}
	img, _, err := s.Commit(ctx, "c", CommitOptions{Ref: "after:1"})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.History(ctx, img)
	if err != nil || len(rows) != 2 || rows[0].Size != 32<<20 {
		t.Fatalf("history after: %+v %v", rows, err)
	}
	s.Close()
}
