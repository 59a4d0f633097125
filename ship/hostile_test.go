package ship

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth/image"
)

// isManifestGet tells a GET of a manifest by reference.
func isManifestGet(r *http.Request, reference string) bool {
	return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/manifests/"+reference)
}

// TestPullHugeConfig: a manifest whose config claims more bytes than a
// config may have is refused before a byte of the config is fetched.
func TestPullHugeConfig(t *testing.T) {
	img := randomImage(t, 64<<10, 1)
	cfg, _ := img.ConfigName()
	raw, _ := img.RawManifest()
	mt, _ := img.MediaType()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["config"].(map[string]any)["size"] = 1 << 40
	bad, _ := json.Marshal(m)
	reg := newTestRegistry(t)
	reg.put(t, "app", "1", img)
	var cfgGets atomic.Int32
	reg.setFault(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		switch {
		case isBlobGet(r, cfg.String()):
			cfgGets.Add(1)
		case isManifestGet(r, "1"):
			w.Header().Set("Content-Type", string(mt))
			w.Write(bad)
			return true
		}
		return false
	})
	st := newStore(t)
	pullFails(t, testClient(), st, mustRef(t, reg.host+"/app:1"), "larger than")
	if n := cfgGets.Load(); n != 0 {
		t.Fatalf("config of %d bytes requested %d times", int64(1<<40), n)
	}
}

// TestPullDigestHeaderMismatch: a registry whose Docker-Content-Digest
// for a tag is not the digest of the manifest it serves is refused.
func TestPullDigestHeaderMismatch(t *testing.T) {
	img := randomImage(t, 64<<10, 1)
	raw, _ := img.RawManifest()
	mt, _ := img.MediaType()
	reg := newTestRegistry(t)
	reg.put(t, "app", "1", img)
	other := digest.FromString("another manifest")
	reg.setFault(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if !isManifestGet(r, "1") {
			return false
		}
		w.Header().Set("Content-Type", string(mt))
		w.Header().Set("Docker-Content-Digest", other.String())
		w.Write(raw)
		return true
	})
	st := newStore(t)
	pullFails(t, testClient(), st, mustRef(t, reg.host+"/app:1"), "registry says its digest is "+other.String())
	if rep := checkStore(t, st); rep.Blobs != 0 {
		t.Fatalf("%d blobs stored", rep.Blobs)
	}
}

// TestPullNestedIndex: an index whose entry for the platform is itself
// an index is a clear error, with nothing stored.
func TestPullNestedIndex(t *testing.T) {
	inner, err := random.Index(1024, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	outer := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: inner, Descriptor: v1Desc(image.HostPlatform())})
	reg := newTestRegistry(t)
	putIndex(t, reg, "nest", "1", outer)
	st := newStore(t)
	pullFails(t, testClient(), st, mustRef(t, reg.host+"/nest:1"), "no manifest for platform")
	if rep := checkStore(t, st); rep.Blobs != 0 {
		t.Fatalf("%d blobs stored", rep.Blobs)
	}
}

// TestPullFailureLeavesNoIngests: when one layer fails, the layers that
// had not started yet leave no empty partial writes behind.
func TestPullFailureLeavesNoIngests(t *testing.T) {
	img := randomImage(t, 64<<10, 6)
	layers := layersOf(t, img)
	reg := newTestRegistry(t)
	reg.put(t, "app", "1", img)
	reg.setFault(func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
		if !isBlobGet(r, layers[0].Digest.String()) {
			return false
		}
		w.Write(make([]byte, layers[0].Size)) // the wrong bytes
		return true
	})
	st := newStore(t)
	ref := mustRef(t, reg.host+"/app:1")
	_, err := testClient().Pull(context.Background(), st, ref, PullOptions{Jobs: 1})
	if err == nil || !strings.Contains(err.Error(), "digest mismatch") {
		t.Fatalf("pull: %v, want a digest mismatch", err)
	}
	ing, err := st.Content().Ingests(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ing) != 0 {
		t.Fatalf("failed pull left %d partial writes: %+v", len(ing), ing)
	}
	checkStore(t, st)
}

// TestPullCorruptPartial: partial data left by an earlier pull that does
// not hash right (a disk fault, another source) is found at the end and
// the layer fetched again whole; the pull succeeds.
func TestPullCorruptPartial(t *testing.T) {
	ctx := context.Background()
	img := randomImage(t, 256<<10, 1)
	layer := layersOf(t, img)[0]
	reg := newTestRegistry(t)
	want := reg.put(t, "app", "1", img)
	st := newStore(t)
	w, err := st.Content().Writer(ctx, ingestRef(layer), ocispec.Descriptor{MediaType: layer.MediaType, Digest: layer.Digest, Size: layer.Size})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pullWant(t, st, mustRef(t, reg.host+"/app:1"), want)
	if !st.Content().Exists(layer.Digest) {
		t.Fatal("layer not stored")
	}
	checkStore(t, st)
}

// TestPullWrongContentRange: a registry that answers a Range request
// with 206 but from another offset (here the whole blob) is asked again
// without a range; the resumed download completes and is verified.
func TestPullWrongContentRange(t *testing.T) {
	img := randomImage(t, 1<<20, 1)
	layer := layersOf(t, img)[0]
	reg := newTestRegistry(t)
	want := reg.put(t, "app", "1", img)
	var gets, ranged atomic.Int32
	reg.setFault(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if !isBlobGet(r, layer.Digest.String()) {
			return false
		}
		switch gets.Add(1) {
		case 1:
			next.ServeHTTP(&cutWriter{ResponseWriter: w, left: 300 << 10}, r)
			return true
		}
		if r.Header.Get("Range") == "" {
			return false
		}
		ranged.Add(1)
		r.Header.Del("Range")
		w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", layer.Size-1, layer.Size))
		w.WriteHeader(http.StatusPartialContent)
		next.ServeHTTP(w, r)
		return true
	})
	st := newStore(t)
	res := pullWant(t, st, mustRef(t, reg.host+"/app:1"), want)
	if ranged.Load() != 1 || gets.Load() != 3 {
		t.Fatalf("pull: %+v after %d requests (%d ranged)", res, gets.Load(), ranged.Load())
	}
	checkStore(t, st)
}

// TestPullCancelLeavesNoGoroutines: a pull stopped in the middle of a
// layer returns, and once it has, nothing of it keeps running: no
// download, no idle connection to the registry.
func TestPullCancelLeavesNoGoroutines(t *testing.T) {
	img := randomImage(t, 768<<10, 3)
	layer := layersOf(t, img)[0]
	reg := newTestRegistry(t)
	reg.put(t, "app", "1", img)
	sent := make(chan struct{})
	var once atomic.Bool
	reg.setFault(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if !isBlobGet(r, layer.Digest.String()) || !once.CompareAndSwap(false, true) {
			return false
		}
		next.ServeHTTP(&stallWriter{ResponseWriter: w, left: 64 << 10, stalled: sent, done: r.Context().Done()}, r)
		return true
	})
	st := newStore(t)
	// The image was put with the default transport: its idle connections
	// are not the pull's.
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	time.Sleep(100 * time.Millisecond)
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := testClient().Pull(ctx, st, mustRef(t, reg.host+"/app:1"), PullOptions{Jobs: 2})
		errc <- err
	}()
	<-sent
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("stopped pull: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	n := runtime.NumGoroutine()
	for n > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	if n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before the pull, %d after it stopped:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

// TestTagsHostile: a tag listing is read page by page (Link headers to
// the same registry); a registry whose pages never end, or whose page is
// huge, is an error, not a hang or an exhausted memory.
func TestTagsHostile(t *testing.T) {
	reg := newTestRegistry(t)
	reg.put(t, "app", "1", randomImage(t, 1024, 1))
	ref := mustRef(t, reg.host+"/app:1")
	var pages atomic.Int32
	cases := []struct {
		name  string
		fault func(w http.ResponseWriter, r *http.Request, next http.Handler) bool
		want  string
	}{
		{"two pages", func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
			if !strings.HasSuffix(r.URL.Path, "/tags/list") {
				return false
			}
			if r.URL.Query().Get("last") == "" {
				w.Header().Set("Link", `</v2/app/tags/list?last=b&n=2>; rel="next"`)
				w.Write([]byte(`{"name":"app","tags":["a","b"]}`))
				return true
			}
			w.Write([]byte(`{"name":"app","tags":["c"]}`))
			return true
		}, ""},
		{"endless pages", func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
			if !strings.HasSuffix(r.URL.Path, "/tags/list") {
				return false
			}
			n := pages.Add(1)
			w.Header().Set("Link", fmt.Sprintf(`</v2/app/tags/list?last=t%d>; rel="next"`, n))
			fmt.Fprintf(w, `{"name":"app","tags":["t%d"]}`, n)
			return true
		}, "pages"},
		{"huge page", func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
			if !strings.HasSuffix(r.URL.Path, "/tags/list") {
				return false
			}
			w.Write([]byte(`{"name":"app","tags":["`))
			w.Write([]byte(strings.Repeat("a", image.MaxManifestSize)))
			w.Write([]byte(`"]}`))
			return true
		}, "larger than"},
		{"link elsewhere", func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
			if !strings.HasSuffix(r.URL.Path, "/tags/list") {
				return false
			}
			w.Header().Set("Link", `<http://192.0.2.1/v2/app/tags/list?last=b>; rel="next"`)
			w.Write([]byte(`{"name":"app","tags":["a","b"]}`))
			return true
		}, "another host"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg.setFault(tc.fault)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			tags, err := testClient().Tags(ctx, ref)
			if tc.want == "" {
				if err != nil || strings.Join(tags, ",") != "a,b,c" {
					t.Fatalf("tags %q, %v; want a,b,c", tags, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("tags: %d tags, error %v; want an error with %q", len(tags), err, tc.want)
			}
		})
	}
}
