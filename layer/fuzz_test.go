package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"testing"
	"time"
)

// FuzzApply feeds arbitrary bytes to Apply (as tar, or gzip or zstd when
// the magic says so) into a root inside a test directory, and wants
// nothing outside the root made or touched, whatever Apply returns.
func FuzzApply(f *testing.F) {
	requireRoot(f)
	f.Add(mkTar(f, dirE("d/", 0o755), fileE("d/f", "x", 0o644), symE("s", "../.."), fileE("s/x", "x", 0o644)))
	f.Add(mkTar(f, symE("a", "/"), fileE("a/tmp/x", "x", 0o644), linkE("l", "a/tmp/x")))
	f.Add(mkTar(f, dirE("d/", 0o755), symE("d", "../../.."), fileE("d/sentinel", "pwned", 0o644)))
	f.Add(mkTar(f, fileE("../x", "x", 0o644)))
	f.Add(mkTar(f, fileE("d/.wh..wh..opq", "", 0), fileE(".wh.d", "", 0), fileE("x/../.wh.y", "", 0)))
	f.Add(mkTar(f, linkE("h", "../../../sentinel"), nodE("p", tar.TypeFifo, 0, 0), nodE("c", tar.TypeChar, 1, 3)))
	var gz bytes.Buffer
	w, _ := CompressStream(&gz, Gzip)
	w.Write(mkTar(f, fileE("g", "gzip", 0o644)))
	w.Close()
	f.Add(gz.Bytes())
	f.Add(gnuSparse("sparse", 1<<40))
	f.Fuzz(func(t *testing.T, data []byte) {
		j := newJail(t)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		opts := ApplyOptions{Whiteouts: WhiteoutsMerge, Devices: DevicesSkip}
		if len(data)%2 == 1 {
			opts.Whiteouts = WhiteoutsOverlay
		}
		Apply(ctx, j.root, bytes.NewReader(data), opts)
		j.check(t)
	})
}
