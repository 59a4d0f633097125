package ship

import (
	"context"
	"errors"
	"net/http"
	"path"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth/image"
)

// TestPullPushRoundTrip pulls an image pushed by go-containerregistry,
// pushes it to another repository of the same registry (its blobs are
// mounted, not uploaded) and checks the digests are the registry's on
// every side.
func TestPullPushRoundTrip(t *testing.T) {
	ctx := context.Background()
	reg := newTestRegistry(t)
	img := randomImage(t, 1<<20, 3)
	want := reg.put(t, "src/app", "v1", img)
	st := newStore(t)
	c := testClient()

	ref := mustRef(t, reg.host+"/src/app:v1")
	res, err := c.Pull(ctx, st, ref, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Target.Digest.String() != want.String() || res.Downloaded != 4 || res.UpToDate {
		t.Fatalf("pull: %+v, want digest %s and 4 blobs downloaded", res, want)
	}
	got, err := st.Get(ctx, ref)
	if err != nil || got.Target.Digest.String() != want.String() {
		t.Fatalf("tag: %+v %v", got, err)
	}
	for _, l := range layersOf(t, img) {
		if !st.Content().Exists(l.Digest) {
			t.Errorf("layer %s not stored", l.Digest)
		}
	}
	rep := checkStore(t, st)
	if rep.Blobs != 5 { // manifest, config, 3 layers
		t.Errorf("content store holds %d blobs, want 5", rep.Blobs)
	}

	// Again: nothing to fetch.
	served := reg.served.Load()
	res, err = c.Pull(ctx, st, ref, PullOptions{})
	if err != nil || !res.UpToDate || res.Downloaded != 0 || reg.served.Load() != served {
		t.Fatalf("second pull: %+v %v, %d blob bytes served", res, err, reg.served.Load()-served)
	}

	// Push to another repository: every blob is mounted. The in-memory
	// registry shares blobs between repositories and knows no mounts:
	// the hook makes dst/app a repository of its own that mounts.
	var mu sync.Mutex
	mountedFrom := map[string]string{}
	reg.setFault(func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodHead && strings.HasPrefix(r.URL.Path, "/v2/dst/app/blobs/"):
			if mountedFrom[path.Base(r.URL.Path)] == "" {
				w.WriteHeader(http.StatusNotFound)
				return true
			}
		case r.Method == http.MethodPost && r.URL.Path == "/v2/dst/app/blobs/uploads/" && r.URL.Query().Get("mount") != "":
			d := r.URL.Query().Get("mount")
			mountedFrom[d] = r.URL.Query().Get("from")
			w.Header().Set("Docker-Content-Digest", d)
			w.WriteHeader(http.StatusCreated)
			return true
		}
		return false
	})
	dst := mustRef(t, reg.host+"/dst/app:v2")
	if err := st.Tag(ctx, dst, got.Target); err != nil {
		t.Fatal(err)
	}
	pres, err := c.Push(ctx, st, dst, PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pres.Mounted != 4 || pres.Pushed != 0 || pres.Target.Digest.String() != want.String() {
		t.Fatalf("push: %+v, want 4 blobs mounted", pres)
	}
	mu.Lock()
	if len(mountedFrom) != 4 {
		t.Errorf("mounted %v, want 4 blobs", mountedFrom)
	}
	for d, from := range mountedFrom {
		if from != "src/app" {
			t.Errorf("blob %s mounted from %q, want src/app", d, from)
		}
	}
	mu.Unlock()
	if d := reg.remoteDigest(t, "dst/app", "v2"); d != want.String() {
		t.Fatalf("registry has %s for dst/app:v2, want %s", d, want)
	}
	// And again: every blob exists.
	pres, err = c.Push(ctx, st, dst, PushOptions{})
	if err != nil || pres.Existed != 4 {
		t.Fatalf("second push: %+v %v", pres, err)
	}
}

// TestPushUploads pushes an image the registry has nothing of and pulls
// it back into another store: same digests.
func TestPushUploads(t *testing.T) {
	ctx := context.Background()
	reg := newTestRegistry(t)
	src := newStore(t)
	img := randomImage(t, 1<<20, 2)
	other := newTestRegistry(t)
	d := other.put(t, "x", "y", img)
	c := testClient()
	if _, err := c.Pull(ctx, src, mustRef(t, other.host+"/x:y"), PullOptions{}); err != nil {
		t.Fatal(err)
	}
	ref := mustRef(t, reg.host+"/copy:1")
	got, _ := src.Get(ctx, mustRef(t, other.host+"/x:y"))
	if err := src.Tag(ctx, ref, got.Target); err != nil {
		t.Fatal(err)
	}
	res, err := c.Push(ctx, src, ref, PushOptions{Progress: NewProgress(nil, ProgressQuiet)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Pushed != 3 || res.Mounted != 0 || res.Existed != 0 {
		t.Fatalf("push to another registry: %+v, want 3 blobs uploaded", res)
	}
	if rd := reg.remoteDigest(t, "copy", "1"); rd != d.String() {
		t.Fatalf("registry has %s, want %s", rd, d)
	}
	dst := newStore(t)
	pres, err := c.Pull(ctx, dst, ref, PullOptions{})
	if err != nil || pres.Target.Digest.String() != d.String() {
		t.Fatalf("pull back: %+v %v", pres, err)
	}
	checkStore(t, dst)
}

// TestPullIndex resolves an index to the host's platform, and to another
// with Platform; only that platform's layers are fetched.
func TestPullIndex(t *testing.T) {
	ctx := context.Background()
	reg := newTestRegistry(t)
	host := image.HostPlatform()
	other := ocispec.Platform{OS: "linux", Architecture: "s390x"}
	if host.Architecture == "s390x" {
		other.Architecture = "ppc64le"
	}
	mine := randomImage(t, 1<<20, 2)
	theirs := randomImage(t, 1<<20, 2)
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: theirs, Descriptor: v1Desc(other)},
		mutate.IndexAddendum{Add: mine, Descriptor: v1Desc(host)},
	)
	putIndex(t, reg, "multi", "latest", idx)
	idxDigest, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	mineDigest, _ := mine.Digest()
	theirsDigest, _ := theirs.Digest()

	st := newStore(t)
	c := testClient()
	ref := mustRef(t, reg.host+"/multi:latest")
	res, err := c.Pull(ctx, st, ref, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Target.Digest.String() != idxDigest.String() || res.Manifest.Digest.String() != mineDigest.String() {
		t.Fatalf("pull: %+v, want index %s with manifest %s", res, idxDigest, mineDigest)
	}
	for _, l := range layersOf(t, theirs) {
		if st.Content().Exists(l.Digest) {
			t.Fatalf("layer %s of the other platform fetched", l.Digest)
		}
	}
	img, _ := st.Get(ctx, ref)
	m, md, err := st.Manifest(ctx, img)
	if err != nil || md.Digest.String() != mineDigest.String() || len(m.Layers) != 2 {
		t.Fatalf("store resolves the index to %s (%v)", md.Digest, err)
	}

	// The other platform: its manifest is named, as it is what runs.
	ref2 := mustRef(t, reg.host+"/multi:other")
	putIndex(t, reg, "multi", "other", idx)
	res, err = c.Pull(ctx, st, ref2, PullOptions{Platform: &other})
	if err != nil {
		t.Fatal(err)
	}
	if res.Target.Digest.String() != theirsDigest.String() {
		t.Fatalf("pull --platform: target %s, want %s", res.Target.Digest, theirsDigest)
	}
	// --verbose of manifest inspect: the index and each manifest.
	top, children, err := c.Inspect(ctx, ref, true)
	if err != nil || top.Descriptor.Digest.String() != idxDigest.String() || len(children) != 2 ||
		children[1].Descriptor.Digest.String() != mineDigest.String() || children[1].Descriptor.Platform == nil {
		t.Fatalf("inspect: %+v %+v %v", top.Descriptor, children, err)
	}
	// A platform the index lacks.
	none := ocispec.Platform{OS: "windows", Architecture: "amd64"}
	if _, err := c.Pull(ctx, st, ref2, PullOptions{Platform: &none}); err == nil {
		t.Fatal("pull for a platform the index lacks succeeded")
	}
	checkStore(t, st)
}

// TestPullNotFound is a clear error and names nothing.
func TestPullNotFound(t *testing.T) {
	reg := newTestRegistry(t)
	st := newStore(t)
	ref := mustRef(t, reg.host+"/nothing:here")
	_, err := testClient().Pull(context.Background(), st, ref, PullOptions{})
	if err == nil || !contains(err.Error(), "manifest unknown") {
		t.Fatalf("pull of a missing image: %v", err)
	}
	if _, err := st.Get(context.Background(), ref); !errors.Is(err, image.ErrNotFound) {
		t.Fatalf("missing image tagged: %v", err)
	}
}

// TestPullLines: without a terminal, the progress is Docker's lines.
func TestPullLines(t *testing.T) {
	reg := newTestRegistry(t)
	img := randomImage(t, 64<<10, 2)
	cf, _ := img.ConfigFile()
	cf.OS, cf.Architecture = "linux", "amd64"
	img, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	want := reg.put(t, "lib/app", "v3", img)
	st := newStore(t)
	var out strings.Builder
	c := testClient()
	ref := mustRef(t, reg.host+"/lib/app:v3")
	if _, err := c.Pull(context.Background(), st, ref, PullOptions{Progress: NewProgress(&out, ProgressLines)}); err != nil {
		t.Fatal(err)
	}
	l := layersOf(t, img)[0]
	for _, line := range []string{"v3: Pulling from lib/app", short(l) + ": Pulling fs layer", short(l) + ": Verifying Checksum",
		short(l) + ": Download complete", "Digest: " + want.String()} {
		if !strings.Contains(out.String(), line+"\n") {
			t.Errorf("output lacks %q:\n%s", line, out.String())
		}
	}
	// A single-platform image asked for another platform.
	other := ocispec.Platform{OS: "linux", Architecture: "riscv64"}
	_, err = c.Pull(context.Background(), newStore(t), ref, PullOptions{Platform: &other})
	if err == nil || !strings.Contains(err.Error(), "does not match the platform") {
		t.Fatalf("pull --platform of another image: %v", err)
	}
}
