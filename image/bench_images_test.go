package image

// Benchmarks of the image layer as issue 4 asks for them (bench/images.sh
// runs them; bench/README.md has the figures):
//
//   - BenchmarkUnpackVsUmoci: unpack throughput of Store.Unpack beside
//     `umoci raw unpack` on the same OCI archives;
//   - BenchmarkRootfsDisk50: the disk 50 container rootfs of one ~20 MB
//     image take, overlay against native (copy);
//   - BenchmarkRootfsMount50Layers: making and mounting a container rootfs
//     from a 50-layer image, overlay against native.

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"

	"berth/layer"
	"berth/snapshot"
)

// ibArchivesEnv names the directory bench/images.sh fills with OCI
// archives (<name>.tar, from `berth save --format oci`) and, beside each,
// the same archive extracted (<name>/, an OCI image layout for umoci).
const ibArchivesEnv = "BERTH_BENCH_ARCHIVES"

// ibRequireRoot skips benchmarks that mount, chown and set trusted xattrs.
func ibRequireRoot(b *testing.B) {
	b.Helper()
	if os.Geteuid() != 0 {
		b.Skip("needs root: unpacks layers with their owners and mounts overlays")
	}
}

// ibOpen opens a store with the snapshotter named in a temp dir.
func ibOpen(b *testing.B, snapshotter string) *Store {
	b.Helper()
	s, err := Open(context.Background(), b.TempDir(), Options{Snapshotter: snapshotter})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if _, name := s.Snapshots(); name != snapshotter {
		b.Fatalf("asked for the %s snapshotter, got %s", snapshotter, name)
	}
	return s
}

// ibFile is one regular file of a generated layer.
type ibFile struct {
	name string
	body []byte
}

// ibTar writes files (their parent directories first) as a layer tar.
func ibTar(b *testing.B, files []ibFile) []byte {
	b.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	dirs := map[string]bool{}
	for _, f := range files {
		var parents []string
		for d := filepath.Dir(f.name); d != "." && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
			parents = append(parents, d)
		}
		for i := len(parents) - 1; i >= 0; i-- {
			hdr := &tar.Header{Typeflag: tar.TypeDir, Name: parents[i] + "/", Mode: 0o755, ModTime: mtime, Format: tar.FormatPAX}
			if err := tw.WriteHeader(hdr); err != nil {
				b.Fatal(err)
			}
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: 0o644, Size: int64(len(f.body)), ModTime: mtime, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			b.Fatal(err)
		}
		if _, err := tw.Write(f.body); err != nil {
			b.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// ibImage stores an image of the given layer tars and names it.
func ibImage(b *testing.B, s *Store, name string, layers [][]byte) Image {
	b.Helper()
	ctx := context.Background()
	release, err := s.Content().Hold(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer release()
	cfg := ocispec.Image{Platform: HostPlatform(), RootFS: ocispec.RootFS{Type: "layers"}}
	var descs []ocispec.Descriptor
	for _, l := range layers {
		d, diffID, err := s.WriteLayer(ctx, bytes.NewReader(l))
		if err != nil {
			b.Fatal(err)
		}
		descs = append(descs, d)
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, diffID)
	}
	target, err := s.WriteImage(ctx, cfg, descs)
	if err != nil {
		b.Fatal(err)
	}
	ref, err := ParseRef(name)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Tag(ctx, ref, target); err != nil {
		b.Fatal(err)
	}
	img, err := s.Get(ctx, ref)
	if err != nil {
		b.Fatal(err)
	}
	return img
}

// ibDiskUsage is the space the tree under dir takes: allocated blocks,
// each inode counted once (hard links), not crossing into other
// filesystems (mounts). It counts what du -s would.
func ibDiskUsage(dir string) (int64, error) {
	var root unix.Stat_t
	if err := unix.Lstat(dir, &root); err != nil {
		return 0, err
	}
	seen := map[uint64]bool{}
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		if st.Dev != root.Dev {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if seen[st.Ino] {
			return nil
		}
		seen[st.Ino] = true
		total += st.Blocks * 512
		return nil
	})
	return total, err
}

// ibMB converts bytes to MiB for a metric.
func ibMB(n int64) float64 { return float64(n) / (1 << 20) }

// ibUnmountOnCleanup makes sure nothing stays mounted on target when the
// benchmark ends, also when it fails between MountAll and Unmount. It is
// registered after target's TempDir, so it runs before its removal.
func ibUnmountOnCleanup(b *testing.B, target string) {
	b.Cleanup(func() {
		if err := snapshot.Unmount(target); err != nil {
			b.Errorf("cleanup: %v", err)
		}
	})
}

// BenchmarkUnpackVsUmoci unpacks each OCI archive found in
// $BERTH_BENCH_ARCHIVES with Store.Unpack and with `umoci raw unpack`,
// alternately in each iteration so that the load of a shared machine falls
// on both alike.
//
// berth: the archive is loaded into a store once (not timed); each
// iteration removes the layer snapshots (not timed) and times Unpack:
// read the gzip blob from the content store, decompress, apply the tar
// into a fresh snapshot directory, check the DiffID, commit.
// umoci: times the whole `umoci raw unpack --image LAYOUT:TAG DIR`
// process: read index, manifest and config, decompress the blob while
// verifying its digest and DiffID, extract into DIR (no config.json and
// no mtree manifest, which plain `umoci unpack` adds). The directory is
// removed, not timed, after each run.
//
// Neither fsyncs what it writes. Metrics: berth-ms and umoci-ms per
// unpack, MB/s of each over the uncompressed tar bytes, and berth/umoci
// (time ratio; below 1 berth is faster). ns/op is the sum of both.
func BenchmarkUnpackVsUmoci(b *testing.B) {
	ibRequireRoot(b)
	dir := os.Getenv(ibArchivesEnv)
	if dir == "" {
		b.Skip("set " + ibArchivesEnv + " to a directory of OCI archives (bench/images.sh does)")
	}
	umoci, err := exec.LookPath("umoci")
	if err != nil {
		b.Skip("umoci not found: apt-get install umoci")
	}
	archives, err := filepath.Glob(filepath.Join(dir, "*.tar"))
	if err != nil || len(archives) == 0 {
		b.Skipf("no *.tar in %s", dir)
	}
	sort.Strings(archives)
	for _, archive := range archives {
		name := strings.TrimSuffix(filepath.Base(archive), ".tar")
		b.Run(name, func(b *testing.B) {
			ibUnpackVsUmoci(b, umoci, archive, filepath.Join(dir, name))
		})
	}
}

func ibUnpackVsUmoci(b *testing.B, umoci, archive, layout string) {
	ctx := context.Background()
	s := ibOpen(b, "overlay")
	f, err := os.Open(archive)
	if err != nil {
		b.Fatal(err)
	}
	imgs, err := s.Load(ctx, f)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	if len(imgs) != 1 || imgs[0].Name.Tag() == "" {
		b.Fatalf("%s: want one tagged image, got %+v", archive, imgs)
	}
	img := imgs[0]
	tag := img.Name.Tag()
	m, _, err := s.Manifest(ctx, img)
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := s.Config(ctx, m)
	if err != nil {
		b.Fatal(err)
	}
	chain := ChainIDs(cfg.RootFS.DiffIDs)
	var tarBytes, blobBytes int64
	for _, l := range m.Layers {
		n, err := ibTarSize(s, l.Digest)
		if err != nil {
			b.Fatal(err)
		}
		tarBytes += n
		blobBytes += l.Size
	}
	snaps, _ := s.Snapshots()
	reset := func() {
		for i := len(chain) - 1; i >= 0; i-- {
			if err := snaps.Remove(ctx, chain[i].String()); err != nil && !errors.Is(err, snapshot.ErrNotFound) {
				b.Fatal(err)
			}
		}
	}
	work := b.TempDir()
	runUmoci := func(i int) time.Duration {
		dst := filepath.Join(work, fmt.Sprint("rootfs-", i))
		cmd := exec.Command(umoci, "raw", "unpack", "--image", layout+":"+tag, dst)
		t0 := time.Now()
		out, err := cmd.CombinedOutput()
		d := time.Since(t0)
		if err != nil {
			b.Fatalf("umoci raw unpack: %v\n%s", err, out)
		}
		if err := os.RemoveAll(dst); err != nil {
			b.Fatal(err)
		}
		return d
	}
	runBerth := func() time.Duration {
		reset()
		t0 := time.Now()
		if _, err := s.Unpack(ctx, img); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	// One untimed run of each: both read their blobs from a warm page
	// cache from then on.
	runUmoci(-1)
	runBerth()

	var tb, tu time.Duration
	n := 0
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		var db, du time.Duration
		if n%2 == 0 {
			db, du = runBerth(), runUmoci(n)
		} else {
			du, db = runUmoci(n), runBerth()
		}
		tb += db
		tu += du
		n++
		// The timer counts the two unpacks only, not the resets.
		b.StartTimer()
	}
	// The framework's timer saw almost nothing; report what was measured.
	b.ReportMetric(float64(tb+tu)/float64(n), "ns/op")
	mb := ibMB(tarBytes)
	b.ReportMetric(mb, "tar-MB")
	b.ReportMetric(ibMB(blobBytes), "gzip-MB")
	b.ReportMetric(float64(tb.Milliseconds())/float64(n), "berth-ms")
	b.ReportMetric(float64(tu.Milliseconds())/float64(n), "umoci-ms")
	b.ReportMetric(mb/(tb.Seconds()/float64(n)), "berth-MB/s")
	b.ReportMetric(mb/(tu.Seconds()/float64(n)), "umoci-MB/s")
	b.ReportMetric(tb.Seconds()/tu.Seconds(), "berth/umoci")
	reset()
}

// ibTarSize is the uncompressed size of a layer blob.
func ibTarSize(s *Store, d digest.Digest) (int64, error) {
	f, err := s.Content().Open(d)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r, _, err := layer.DecompressStream(f)
	if err != nil {
		return 0, fmt.Errorf("layer %s: %w", d, err)
	}
	defer r.Close()
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		return 0, fmt.Errorf("layer %s: %w", d, err)
	}
	return n, nil
}

// ibDiskLayer is a ~20 MB one-layer image shaped like a small
// distribution: 1,000 files of 4 to 36 KiB in 50 directories; half of
// each file is random, so gzip shrinks it as it does binaries and text.
func ibDiskLayer(b *testing.B) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var files []ibFile
	for i := range 1000 {
		body := make([]byte, 4096+rng.IntN(32<<10))
		for j := 0; j < len(body)/2; j++ {
			body[j] = byte(rng.Uint32())
		}
		files = append(files, ibFile{fmt.Sprintf("usr/lib/d%02d/f%03d", i%50, i), body})
	}
	return ibTar(b, files)
}

// BenchmarkRootfsDisk50 measures the disk 50 containers made from one
// image of about 20 MB take before they write anything: PrepareRootfs 50
// times, then du of the store (hard links counted once). Metrics:
// image-MB (the unpacked layer), rootfs-MB (what the 50 rootfs add, all
// 50), per-rootfs-KB, store-MB (content + snapshots + metadata), and
// prepare-ms (the mean PrepareRootfs time). One iteration is one full run
// on a fresh store: use -benchtime 1x.
func BenchmarkRootfsDisk50(b *testing.B) {
	ibRequireRoot(b)
	tarball := ibDiskLayer(b)
	for _, sn := range []string{"overlay", "native"} {
		b.Run(sn, func(b *testing.B) {
			ctx := context.Background()
			const n = 50
			var imageB, rootfsB, storeB int64
			var prep time.Duration
			for b.Loop() {
				b.StopTimer()
				s := ibOpen(b, sn)
				img := ibImage(b, s, "bench/disk:1", [][]byte{tarball})
				if _, err := s.Unpack(ctx, img); err != nil {
					b.Fatal(err)
				}
				snapDir := filepath.Join(s.Root(), "snapshots")
				before, err := ibDiskUsage(snapDir)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				t0 := time.Now()
				for c := range n {
					if _, err := s.PrepareRootfs(ctx, fmt.Sprintf("c%02d", c), img); err != nil {
						b.Fatal(err)
					}
				}
				prep = time.Since(t0)
				b.StopTimer()
				after, err := ibDiskUsage(snapDir)
				if err != nil {
					b.Fatal(err)
				}
				if storeB, err = ibDiskUsage(s.Root()); err != nil {
					b.Fatal(err)
				}
				imageB, rootfsB = before, after-before
				b.StartTimer()
			}
			b.ReportMetric(ibMB(int64(len(tarball))), "tar-MB")
			b.ReportMetric(ibMB(imageB), "image-MB")
			b.ReportMetric(ibMB(rootfsB), "rootfs-MB")
			b.ReportMetric(float64(rootfsB)/1024/n, "per-rootfs-KB")
			b.ReportMetric(ibMB(storeB), "store-MB")
			b.ReportMetric(float64(prep.Microseconds())/1000/n, "prepare-ms")
		})
	}
}

// ib50Layers is an image of 50 small layers: each adds a directory of 20
// files of 4 KiB and rewrites etc/motd, so the top layer hides 49 copies.
func ib50Layers(b *testing.B) [][]byte {
	var layers [][]byte
	body := bytes.Repeat([]byte("berth\n"), 4096/6)
	for i := range 50 {
		files := []ibFile{{"etc/motd", []byte(fmt.Sprintf("layer %d\n", i))}}
		for j := range 20 {
			files = append(files, ibFile{fmt.Sprintf("l%02d/f%02d", i, j), body})
		}
		layers = append(layers, ibTar(b, files))
	}
	return layers
}

// BenchmarkRootfsMount50Layers times what starting a container on a
// 50-layer image costs the image layer: PrepareRootfs (the writable
// snapshot; the image is already unpacked), snapshot.MountAll on a
// directory and snapshot.Unmount. RemoveRootfs after each op and the
// check that the top layer's files show are not timed. Metrics: the
// three parts in us/op, remove-us (not in ns/op), and unpack-ms, the one
// untimed unpack of the 50 layers before the loop.
func BenchmarkRootfsMount50Layers(b *testing.B) {
	ibRequireRoot(b)
	layers := ib50Layers(b)
	for _, sn := range []string{"overlay", "native"} {
		b.Run(sn, func(b *testing.B) {
			ctx := context.Background()
			s := ibOpen(b, sn)
			img := ibImage(b, s, "bench/layers50:1", layers)
			t0 := time.Now()
			if _, err := s.Unpack(ctx, img); err != nil {
				b.Fatal(err)
			}
			unpack := time.Since(t0)
			target := b.TempDir()
			ibUnmountOnCleanup(b, target)
			var prep, mount, umount, remove time.Duration
			n := 0
			for b.Loop() {
				key := fmt.Sprintf("c%d", n)
				t0 := time.Now()
				ms, err := s.PrepareRootfs(ctx, key, img)
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := snapshot.MountAll(ms, target); err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				b.StopTimer()
				motd, err := os.ReadFile(filepath.Join(target, "etc/motd"))
				if err != nil || string(motd) != "layer 49\n" {
					b.Fatalf("etc/motd in the rootfs: %q, %v", motd, err)
				}
				if _, err := os.Stat(filepath.Join(target, "l00/f19")); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				t3 := time.Now()
				if err := snapshot.Unmount(target); err != nil {
					b.Fatal(err)
				}
				t4 := time.Now()
				b.StopTimer()
				if err := s.RemoveRootfs(ctx, key); err != nil {
					b.Fatal(err)
				}
				remove += time.Since(t4)
				b.StartTimer()
				prep += t1.Sub(t0)
				mount += t2.Sub(t1)
				umount += t4.Sub(t3)
				n++
			}
			b.ReportMetric(float64(prep.Microseconds())/float64(n), "prepare-us")
			b.ReportMetric(float64(mount.Microseconds())/float64(n), "mount-us")
			b.ReportMetric(float64(umount.Microseconds())/float64(n), "unmount-us")
			b.ReportMetric(float64(remove.Microseconds())/float64(n), "remove-us")
			b.ReportMetric(float64(unpack.Milliseconds()), "unpack-ms")
		})
	}
}
