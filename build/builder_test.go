package build

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth/build/buildctx"
	"berth/image"
)

// TestBuildStagesInProcess builds, in this process (so -race sees it),
// a Dockerfile whose independent stages run at the same time and only
// copy files (no runtime needed), then rebuilds it from the cache. It
// needs root (overlay mounts).
func TestBuildStagesInProcess(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: build steps mount snapshots")
	}
	ctx := context.Background()
	root := t.TempDir()
	st, err := image.Open(ctx, root, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, _, err := st.Bootstrap(ctx, "busybox", image.BootstrapOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, data := range map[string]string{"a.txt": "a\n", "b.txt": "b\n", "c.txt": "c\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	df := []byte(`FROM busybox AS one
COPY a.txt /one/
WORKDIR /one/sub
FROM busybox AS two
COPY b.txt /two/
COPY c.txt /two/
FROM scratch AS three
COPY c.txt /
FROM scratch
COPY --from=one /one /from-one
COPY --from=two /two /from-two
COPY --from=three /c.txt /from-three.txt
ENV DONE=1
`)
	b := New(st, "/nonexistent-runtime")
	build := func() (Result, string) {
		bctx, err := buildctx.Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer bctx.Close()
		var out strings.Builder
		res, err := b.Build(ctx, Options{Dockerfile: df, Context: bctx, Tags: []string{"multi:latest"},
			Progress: NewProgress(&syncWriter{w: &out})})
		if err != nil {
			t.Fatalf("build: %v\n%s", err, out.String())
		}
		return res, out.String()
	}
	first, out := build()
	if strings.Contains(out, "CACHED") {
		t.Errorf("cold build used the cache:\n%s", out)
	}
	second, out := build()
	if second.ID != first.ID {
		t.Errorf("warm rebuild gave %s, first %s", second.ID, first.ID)
	}
	if n := strings.Count(out, "CACHED"); n != 9 {
		t.Errorf("warm rebuild: %d steps cached, want 9:\n%s", n, out)
	}
	img, err := st.Get(ctx, mustRef(t, "multi:latest"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, layers, _, err := b.baseConfig(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 3 || len(cfg.History) != 4 || cfg.Config.Env[len(cfg.Config.Env)-1] != "DONE=1" {
		t.Errorf("final image: %d layers, history %+v, env %v", len(layers), cfg.History, cfg.Config.Env)
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "build", "run")); len(ents) != 0 {
		t.Errorf("work directories left: %v", ents)
	}
}

func mustRef(t *testing.T, s string) image.Ref {
	t.Helper()
	r, err := image.ParseRef(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
