package ship

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"berth/image"
)

// isBlobGet tells a GET of the blob with digest d.
func isBlobGet(r *http.Request, d string) bool {
	return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+d)
}

// pullFails pulls ref expecting an error containing want, and checks
// nothing was named and the store is sound.
func pullFails(t *testing.T, c *Client, st *image.Store, ref image.Ref, want string) error {
	t.Helper()
	_, err := c.Pull(context.Background(), st, ref, PullOptions{})
	if err == nil {
		t.Fatalf("pull succeeded, want an error with %q", want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("pull error %q, want it to mention %q", err, want)
	}
	if _, gerr := st.Get(context.Background(), ref); !errors.Is(gerr, image.ErrNotFound) {
		t.Fatalf("failed pull named the image: %v", gerr)
	}
	checkStore(t, st)
	return err
}

// TestPullFaults: a registry that sends wrong bytes, too few, a document
// that is not what its media type says, redirects in a loop or points at
// a broken token service gets a clear error, and nothing is stored.
func TestPullFaults(t *testing.T) {
	img := randomImage(t, 256<<10, 1)
	layer := layersOf(t, img)[0]
	cfg, _ := img.ConfigName()
	idx, _ := randomIndexBytes(t)
	cases := []struct {
		name  string
		fault func(w http.ResponseWriter, r *http.Request, next http.Handler) bool
		want  string
	}{
		{"digest mismatch", func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
			if !isBlobGet(r, layer.Digest.String()) {
				return false
			}
			w.Header().Set("Content-Length", fmt.Sprint(layer.Size))
			w.Write(make([]byte, layer.Size)) // the right size, the wrong bytes
			return true
		}, "digest mismatch"},
		{"truncated blob", func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !isBlobGet(r, layer.Digest.String()) {
				return false
			}
			w.Header().Set("Content-Length", fmt.Sprint(layer.Size-100))
			w.Write(make([]byte, layer.Size-100))
			return true
		}, "truncated"},
		{"oversized blob", func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !isBlobGet(r, layer.Digest.String()) {
				return false
			}
			w.Write(make([]byte, layer.Size+4096))
			return true
		}, "digest mismatch"},
		{"index served as a manifest", func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/manifests/") {
				return false
			}
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Write(idx)
			return true
		}, "does not match its media type"},
		{"short config", func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !isBlobGet(r, cfg.String()) {
				return false
			}
			w.Write([]byte(`{"not":"a config"}`))
			return true
		}, "config"},
		{"redirect loop", func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !isBlobGet(r, layer.Digest.String()) {
				return false
			}
			http.Redirect(w, r, r.URL.Path, http.StatusTemporaryRedirect)
			return true
		}, "redirect loop"},
		{"401 with a bad realm", func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ftp://nowhere.invalid/token",service="x"`)
			w.WriteHeader(http.StatusUnauthorized)
			return true
		}, "realm"},
		{"500 forever", func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if !isBlobGet(r, layer.Digest.String()) {
				return false
			}
			w.WriteHeader(http.StatusInternalServerError)
			return true
		}, "500"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg := newTestRegistry(t)
			reg.put(t, "app", "1", img)
			reg.setFault(tc.fault)
			st := newStore(t)
			err := pullFails(t, testClient(), st, mustRef(t, reg.host+"/app:1"), tc.want)
			t.Logf("%s: %v", tc.name, err)
			if st.Content().Exists(layer.Digest) {
				t.Fatal("layer stored")
			}
		})
	}
}

// TestPullDroppedConnections: the registry drops the connection in the
// middle of each blob, three times; the pull retries, each retry asks
// for the rest only, and the store ends sound.
func TestPullDroppedConnections(t *testing.T) {
	reg := newTestRegistry(t)
	img := randomImage(t, 3<<20, 2)
	want := reg.put(t, "app", "1", img)
	var total int64
	for _, l := range layersOf(t, img) {
		total += l.Size
	}
	cfgBytes, _ := img.RawConfigFile()
	total += int64(len(cfgBytes))
	var drops atomic.Int32
	reg.setFault(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/") {
			return false
		}
		for _, l := range layersOf(t, img) {
			if isBlobGet(r, l.Digest.String()) {
				// One atomic step takes a drop: the layers are fetched at
				// once, and a check before the count let a fourth through.
				if drops.Add(1) > 3 {
					drops.Add(-1)
					return false
				}
				next.ServeHTTP(&cutWriter{ResponseWriter: w, left: 200 << 10}, r)
				return true
			}
		}
		return false
	})
	st := newStore(t)
	pullWant(t, st, mustRef(t, reg.host+"/app:1"), want)
	if drops.Load() != 3 {
		t.Fatalf("%d connections dropped, want 3", drops.Load())
	}
	// Every byte was sent once: the retries resumed, not restarted.
	if got := reg.served.Load(); got != total {
		t.Fatalf("registry served %d blob bytes, the blobs are %d", got, total)
	}
	checkStore(t, st)
}

// TestPullResume: a pull stopped in the middle of a layer keeps what it
// received; the next pull asks only for the rest.
func TestPullResume(t *testing.T) {
	reg := newTestRegistry(t)
	img := randomImage(t, 4<<20, 1)
	want := reg.put(t, "app", "1", img)
	layer := layersOf(t, img)[0]
	const first = 1 << 20
	sent := make(chan struct{})
	reg.setFault(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if !isBlobGet(r, layer.Digest.String()) {
			return false
		}
		// Send the first MiB, then stall until the client goes away.
		w.Header().Set("Content-Length", fmt.Sprint(layer.Size))
		next.ServeHTTP(&stallWriter{ResponseWriter: w, left: first, stalled: sent, done: r.Context().Done()}, r)
		return true
	})
	st := newStore(t)
	c := testClient()
	ref := mustRef(t, reg.host+"/app:1")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Pull(ctx, st, ref, PullOptions{})
		errc <- err
	}()
	<-sent
	// Let the client take in what was sent, then stop it as ^C would.
	data := ingestData(st, layer.Digest.String())
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if fi, err := os.Stat(data); err == nil && fi.Size() == first {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("stopped pull: %v", err)
	}
	if _, err := st.Get(context.Background(), ref); !errors.Is(err, image.ErrNotFound) {
		t.Fatalf("stopped pull named the image: %v", err)
	}
	fi, err := os.Stat(data)
	if err != nil || fi.Size() != first {
		t.Fatalf("partial layer kept: %v, %v bytes, want %d", err, fi, first)
	}

	reg.setFault(nil)
	before := reg.served.Load()
	res, err := c.Pull(context.Background(), st, ref, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Target.Digest.String() != want.String() {
		t.Fatalf("pulled %s, want %s", res.Target.Digest, want)
	}
	if got := reg.served.Load() - before; got != layer.Size-first {
		t.Fatalf("second pull fetched %d bytes of the layer, want the %d it lacked", got, layer.Size-first)
	}
	checkStore(t, st)
}

// ingestData is where the content store keeps a partial pull of d.
func ingestData(st *image.Store, d string) string {
	sum := sha256.Sum256([]byte("pull-" + d))
	return filepath.Join(st.Content().Dir(), "ingest", hex.EncodeToString(sum[:]), "data")
}

// stallWriter passes left bytes, signals stalled, and blocks further
// writes until done.
type stallWriter struct {
	http.ResponseWriter
	left    int64
	stalled chan struct{}
	done    <-chan struct{}
}

func (s *stallWriter) Write(b []byte) (int, error) {
	if s.left <= 0 {
		<-s.done
		return 0, errors.New("client gone")
	}
	p := b
	if int64(len(p)) > s.left {
		p = p[:s.left]
	}
	n, err := s.ResponseWriter.Write(p)
	s.left -= int64(n)
	if s.left <= 0 {
		if f, ok := s.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		close(s.stalled)
		<-s.done
		return n, errors.New("client gone")
	}
	return n, err
}

// TestPullBadConfig: a config that is not an image config, or lists a
// diff ID count other than the layers', is refused and nothing named.
func TestPullBadConfig(t *testing.T) {
	img := randomImage(t, 64<<10, 2)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	wrongType := cf.DeepCopy()
	wrongType.RootFS.Type = "bogus"
	fewer := cf.DeepCopy()
	fewer.RootFS.DiffIDs = fewer.RootFS.DiffIDs[:1]
	for _, tc := range []struct {
		name string
		cf   *v1.ConfigFile
		want string
	}{{"rootfs type", wrongType, "rootfs.type"}, {"diff ids", fewer, "1 diff_ids for 2 layers"}} {
		t.Run(tc.name, func(t *testing.T) {
			bad, err := mutate.ConfigFile(img, tc.cf)
			if err != nil {
				t.Fatal(err)
			}
			reg := newTestRegistry(t)
			reg.put(t, "app", "1", bad)
			st := newStore(t)
			pullFails(t, testClient(), st, mustRef(t, reg.host+"/app:1"), tc.want)
		})
	}
}

// TestPullResumeWithoutRanges: a registry that refuses Range requests
// (416) or ignores them (200) still completes a resumed download, and
// the bytes kept are not written twice.
func TestPullResumeWithoutRanges(t *testing.T) {
	for _, mode := range []string{"416", "ignore"} {
		t.Run(mode, func(t *testing.T) {
			reg := newTestRegistry(t)
			img := randomImage(t, 1<<20, 1)
			want := reg.put(t, "app", "1", img)
			layer := layersOf(t, img)[0]
			var cuts atomic.Int32
			reg.setFault(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
				if !isBlobGet(r, layer.Digest.String()) {
					return false
				}
				if r.Header.Get("Range") != "" {
					if mode == "416" {
						w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
						return true
					}
					r.Header.Del("Range")
				}
				if cuts.Add(1) == 1 {
					next.ServeHTTP(&cutWriter{ResponseWriter: w, left: 300 << 10}, r)
					return true
				}
				return false
			})
			st := newStore(t)
			res := pullWant(t, st, mustRef(t, reg.host+"/app:1"), want)
			if cuts.Load() != 2 {
				t.Fatalf("pull: %+v after %d layer requests", res, cuts.Load())
			}
			checkStore(t, st)
		})
	}
}

// TestPullRedirectedBlob: a registry that sends blobs from another host
// (a CDN) by redirect; the bytes are verified the same way.
func TestPullRedirectedBlob(t *testing.T) {
	img := randomImage(t, 256<<10, 1)
	layer := layersOf(t, img)[0]
	rc, err := img.LayerByDigest(v1.Hash{Algorithm: "sha256", Hex: layer.Digest.Encoded()})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := rc.Compressed()
	data, _ := io.ReadAll(body)
	var cdnHits atomic.Int32
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cdnHits.Add(1)
		if r.Header.Get("Authorization") != "" {
			t.Errorf("credentials sent to the CDN")
		}
		http.ServeContent(w, r, "blob", time.Time{}, bytes.NewReader(data))
	}))
	defer cdn.Close()
	reg := newTestRegistry(t)
	want := reg.put(t, "app", "1", img)
	reg.setFault(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if !isBlobGet(r, layer.Digest.String()) {
			return false
		}
		http.Redirect(w, r, cdn.URL+"/blob?sig=x", http.StatusTemporaryRedirect)
		return true
	})
	st := newStore(t)
	res := pullWant(t, st, mustRef(t, reg.host+"/app:1"), want)
	if cdnHits.Load() != 1 || !st.Content().Exists(layer.Digest) {
		t.Fatalf("pull: %+v, %d CDN requests", res, cdnHits.Load())
	}
	checkStore(t, st)
}
