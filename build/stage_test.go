package build

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth/build/buildctx"
	"berth/image"
	"berth/snapshot"
)

// stageEnv is an image store with busybox and a context directory, for
// in-process builds that need no runtime (no RUN).
type stageEnv struct {
	t   *testing.T
	ctx context.Context
	st  *image.Store
	b   *Builder
	dir string
}

func newStageEnv(t *testing.T) *stageEnv {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: build steps mount snapshots")
	}
	ctx := context.Background()
	st, err := image.Open(ctx, t.TempDir(), image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dir := t.TempDir()
	for name, data := range map[string]string{"a.txt": "a\n", "b.txt": "b\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &stageEnv{t: t, ctx: ctx, st: st, b: New(st, "/nonexistent-runtime"), dir: dir}
}

// build builds df with target; it returns the image's config and layer
// count, or the error.
func (e *stageEnv) build(df, target string) (Result, error) {
	e.t.Helper()
	bctx, err := buildctx.Open(e.ctx, e.dir)
	if err != nil {
		e.t.Fatal(err)
	}
	defer bctx.Close()
	return e.b.Build(e.ctx, Options{Dockerfile: []byte(df), Context: bctx, Target: target, Tags: []string{"t:latest"}})
}

func (e *stageEnv) config() (cfgHistory []string, onbuild []string, layers int) {
	e.t.Helper()
	img, err := e.st.Get(e.ctx, mustRef(e.t, "t:latest"))
	if err != nil {
		e.t.Fatal(err)
	}
	cfg, ls, _, err := e.b.baseConfig(e.ctx, img)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, h := range cfg.History {
		cfgHistory = append(cfgHistory, h.CreatedBy)
	}
	return cfgHistory, cfg.Config.OnBuild, len(ls)
}

// TestCopyFromLaterStage: BuildKit lets COPY --from name (or index) a
// stage defined further down, and refuses a cycle.
func TestCopyFromLaterStage(t *testing.T) {
	e := newStageEnv(t)
	df := "FROM scratch AS use\nCOPY --from=later /a.txt /got.txt\nCOPY --from=2 /b.txt /b.txt\n" +
		"FROM scratch AS later\nCOPY a.txt /\nFROM scratch\nCOPY b.txt /\n"
	if _, err := e.build(df, "use"); err != nil {
		t.Fatalf("COPY --from a later stage: %v", err)
	}
	if hist, _, layers := e.config(); layers != 2 || len(hist) != 2 {
		t.Errorf("image of use: %d layers, history %q", layers, hist)
	}
	cycle := "FROM scratch AS a\nCOPY --from=b /x /x\nFROM scratch AS b\nCOPY --from=a /y /y\n"
	if _, err := e.build(cycle, "a"); err == nil || !strings.Contains(err.Error(), "circular dependency detected on stage") {
		t.Errorf("cycle: %v", err)
	}
	self := "FROM scratch\nCOPY --from=0 /x /x\n"
	if _, err := e.build(self, ""); err == nil || !strings.Contains(err.Error(), "circular dependency detected on stage") {
		t.Errorf("stage copying from itself: %v", err)
	}
	if _, err := e.build("FROM scratch\nCOPY --from=5 /x /x\n", ""); err == nil || !strings.Contains(err.Error(), "invalid stage index 5") {
		t.Errorf("index out of range: %v", err)
	}
	// FROM names only earlier stages: a later one is taken as an image.
	if _, err := e.build("FROM later AS first\nFROM scratch AS later\nCOPY a.txt /\n", "first"); err == nil ||
		!strings.Contains(err.Error(), "FROM later") || !strings.Contains(err.Error(), "no such image") {
		t.Errorf("FROM a later stage: %v", err)
	}
}

// TestOnbuildFromStage: a stage built FROM an earlier stage runs that
// stage's ONBUILD triggers and does not keep them (BuildKit).
func TestOnbuildFromStage(t *testing.T) {
	e := newStageEnv(t)
	df := "FROM scratch AS base\nONBUILD COPY a.txt /trig.txt\nFROM base\nENV X=1\n"
	if _, err := e.build(df, ""); err != nil {
		t.Fatalf("build: %v", err)
	}
	hist, onbuild, layers := e.config()
	if layers != 1 || len(onbuild) != 0 || !strings.Contains(strings.Join(hist, "\n"), "COPY a.txt /trig.txt") {
		t.Errorf("child of a stage with ONBUILD: %d layers, OnBuild %q, history %q", layers, onbuild, hist)
	}
}

// TestUnsupportedFlags: flags berth does not implement are refused by
// name, not ignored (ignoring --exclude would copy what should not be).
func TestUnsupportedFlags(t *testing.T) {
	e := newStageEnv(t)
	for _, c := range []struct{ df, want string }{
		{"FROM scratch\nCOPY --exclude=b.txt . /\n", "--exclude"},
		{"FROM scratch\nCOPY --parents a.txt /\n", "--parents"},
		{"FROM scratch\nADD --exclude=b.txt . /\n", "--exclude"},
		{"FROM scratch\nADD --checksum=sha256:0000000000000000000000000000000000000000000000000000000000000000 a.txt /\n", "--checksum"},
		{"FROM scratch\nADD --unpack=false a.txt /\n", "--unpack"},
		{"FROM scratch\nRUN --mount=type=cache,target=/c true\n", "--mount"},
		{"FROM scratch\nRUN --security=insecure true\n", "--security"},
	} {
		_, err := e.build(c.df, "")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "not supported") {
			t.Errorf("%q: %v", c.df, err)
		}
	}
}

// TestArgsFromBaseStage: a stage built FROM an earlier stage sees the
// ARGs that stage declared (BuildKit), not the global ones it did not.
func TestArgsFromBaseStage(t *testing.T) {
	e := newStageEnv(t)
	df := "ARG G=b.txt\nFROM scratch AS base\nARG NAME=a.txt\nFROM base\nCOPY ${NAME}${G} /\n"
	if _, err := e.build(df, ""); err != nil {
		t.Fatalf("build: %v", err)
	}
	if hist, _, _ := e.config(); len(hist) != 2 || hist[1] != "COPY a.txt / # buildkit" {
		t.Errorf("history %q, want the ARG of the base stage expanded", hist)
	}
}

// TestSweepSparesLiveTree: the sweep a starting build runs (another
// build on the same root) leaves a live build's read-only view of a
// stage mounted; and a cache temp file being written is not removed.
func TestSweepSparesLiveTree(t *testing.T) {
	e := newStageEnv(t)
	if _, err := e.build("FROM scratch\nCOPY a.txt /\n", ""); err != nil {
		t.Fatal(err)
	}
	img, err := e.st.Get(e.ctx, mustRef(t, "t:latest"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, _, err := e.b.baseConfig(e.ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	chain := state{cfg: cfg}.topChain()
	if err := os.MkdirAll(e.b.cache.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.CreateTemp(e.b.cache.dir, ".tmp-")
	if err != nil {
		t.Fatal(err)
	}
	tmp.Close()
	os.Remove(filepath.Join(e.b.cache.dir, ".pruned")) // make the prune due
	err = e.b.withTree(e.ctx, chain, func(dir string) error {
		if err := e.b.sweep(e.ctx); err != nil {
			return err
		}
		b, err := os.ReadFile(filepath.Join(dir, "a.txt"))
		if err != nil || string(b) != "a\n" {
			t.Errorf("view after a sweep: %q %v", b, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp.Name()); err != nil {
		t.Errorf("a fresh cache temp file was removed: %v", err)
	}
	if ents, _ := os.ReadDir(e.b.runDir()); len(ents) != 0 {
		t.Errorf("left in the run directory: %v", ents)
	}
}

// TestFromPlatform: FROM --platform of the host's platform builds; of
// another one is refused, not silently built for the host.
func TestFromPlatform(t *testing.T) {
	e := newStageEnv(t)
	if _, err := e.build("FROM --platform=$BUILDPLATFORM scratch\nCOPY a.txt /\n", ""); err != nil {
		t.Errorf("FROM --platform=$BUILDPLATFORM: %v", err)
	}
	other := "linux/s390x"
	if platformArgs()["TARGETARCH"] == "s390x" {
		other = "linux/amd64"
	}
	_, err := e.build("FROM --platform="+other+" scratch\nCOPY a.txt /\n", "")
	if err == nil || !strings.Contains(err.Error(), other) || !strings.Contains(err.Error(), "Dockerfile:1") {
		t.Errorf("FROM --platform=%s: %v", other, err)
	}
}

// TestUnusedBuildArgs: Docker's warning names the build args no ARG
// (global or in a built stage) declared; proxy args never count.
func TestUnusedBuildArgs(t *testing.T) {
	e := newStageEnv(t)
	bctx, err := buildctx.Open(e.ctx, e.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer bctx.Close()
	res, err := e.b.Build(e.ctx, Options{Dockerfile: []byte("ARG G\nFROM scratch\nARG S\nCOPY a.txt /\n"), Context: bctx,
		BuildArgs: map[string]string{"G": "1", "S": "2", "X": "3", "A": "4", "HTTP_PROXY": "p"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"One or more build-args [A X] were not consumed"}; strings.Join(res.Warnings, "|") != want[0] {
		t.Errorf("warnings %q, want %q", res.Warnings, want)
	}
}

// TestStageFailureCancelsOthers: a failing stage stops the build with
// its own error; the stages running beside it leave no work directory
// and no uncommitted snapshot, and nothing is tagged.
func TestStageFailureCancelsOthers(t *testing.T) {
	e := newStageEnv(t)
	df := "FROM scratch AS ok1\nCOPY a.txt /\nCOPY b.txt /\nFROM scratch AS bad\nCOPY missing.txt /\n" +
		"FROM scratch AS ok2\nCOPY b.txt /\nFROM scratch\nCOPY --from=ok1 /a.txt /\nCOPY --from=bad /x /\nCOPY --from=ok2 /b.txt /\n"
	_, err := e.build(df, "")
	if err == nil || !strings.Contains(err.Error(), "missing.txt") || !strings.Contains(err.Error(), "Dockerfile:5") {
		t.Fatalf("build with a failing stage: %v", err)
	}
	if _, err := e.st.Get(e.ctx, mustRef(t, "t:latest")); err == nil {
		t.Error("a failed build tagged its image")
	}
	if ents, _ := os.ReadDir(e.b.runDir()); len(ents) != 0 {
		t.Errorf("left in the run directory: %v", ents)
	}
	snaps, _ := e.st.Snapshots()
	_ = snaps.Walk(e.ctx, func(i snapshot.Info) error {
		if i.Kind != snapshot.KindCommitted {
			t.Errorf("snapshot left: %s", i.Key)
		}
		return nil
	})
}
