package cli_test

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildConfig is the part of an image config the build tests check, with
// Docker's fields that the OCI config lacks (Healthcheck, Shell, OnBuild).
type buildConfig struct {
	Author string `json:"author"`
	Config struct {
		User         string              `json:"User"`
		ExposedPorts map[string]struct{} `json:"ExposedPorts"`
		Env          []string            `json:"Env"`
		Entrypoint   []string            `json:"Entrypoint"`
		Cmd          []string            `json:"Cmd"`
		Volumes      map[string]struct{} `json:"Volumes"`
		WorkingDir   string              `json:"WorkingDir"`
		Labels       map[string]string   `json:"Labels"`
		StopSignal   string              `json:"StopSignal"`
		Healthcheck  *struct {
			Test     []string      `json:"Test"`
			Interval time.Duration `json:"Interval"`
			Retries  int           `json:"Retries"`
		} `json:"Healthcheck"`
		Shell   []string `json:"Shell"`
		OnBuild []string `json:"OnBuild"`
	} `json:"config"`
	RootFS struct {
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
	History []struct {
		CreatedBy  string `json:"created_by"`
		EmptyLayer bool   `json:"empty_layer"`
	} `json:"history"`
}

// copyTree copies a testdata corpus directory to a fresh one the test
// may change.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	if out, err := exec.Command("cp", "-a", src+"/.", dst).CombinedOutput(); err != nil {
		t.Fatalf("cp %s: %v: %s", src, err, out)
	}
	return dst
}

// rawConfig reads the image's config blob from the content store.
func (e *env) rawConfig(ref string) (string, buildConfig) {
	e.t.Helper()
	id := strings.TrimSpace(e.must("image", "inspect", "--format", "{{.Id}}", ref))
	b, err := os.ReadFile(filepath.Join(e.root, "content", "blobs", "sha256", strings.TrimPrefix(id, "sha256:")))
	if err != nil {
		e.t.Fatalf("config of %s: %v", ref, err)
	}
	var c buildConfig
	if err := json.Unmarshal(b, &c); err != nil {
		e.t.Fatalf("config of %s: %v", ref, err)
	}
	return id, c
}

// build runs berth build and returns its progress output (stderr).
func (e *env) build(args ...string) string {
	e.t.Helper()
	_, stderr, code := e.run(nil, append([]string{"build", "--progress", "plain"}, args...)...)
	if code != 0 {
		e.t.Fatalf("berth build %s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	return stderr
}

// cachedSteps returns, for each step line "#N [stage k/n] TEXT", whether
// it was CACHED, by TEXT.
func cachedSteps(out string) map[string]bool {
	titles := map[string]string{}
	res := map[string]bool{}
	re := regexp.MustCompile(`^#(\d+) \[[^\]]+\] (.*)$`)
	for _, l := range strings.Split(out, "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			titles[m[1]] = m[2]
			res[m[2]] = false
		}
	}
	for _, l := range strings.Split(out, "\n") {
		n, rest, _ := strings.Cut(strings.TrimPrefix(l, "#"), " ")
		if rest == "CACHED" {
			res[titles[n]] = true
		}
	}
	return res
}

func TestBuildInstructions(t *testing.T) {
	e := newEnv(t).withBusybox()
	dir := copyTree(t, "testdata/build/all")
	e.build("--build-arg", "FROMCLI=cli", "-t", "all:1", "-t", "all:2", dir)
	e.compareDocker("all:1", "testdata/build/all/docker-20.10.txt")
	id1, c := e.rawConfig("all:1")
	if id2, _ := e.rawConfig("all:2"); id1 != id2 {
		t.Errorf("two -t names, two images: %s %s", id1, id2)
	}
	cfg := c.Config
	wantEnv := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "A=b", "C=d e"}
	checks := []struct {
		what      string
		got, want any
	}{
		{"Author", c.Author, "someone@example.com"},
		{"Env", cfg.Env, wantEnv},
		{"Entrypoint", cfg.Entrypoint, []string{"/bin/sh"}},
		{"Cmd", cfg.Cmd, []string{"-c", "cat /app/r.txt"}},
		{"WorkingDir", cfg.WorkingDir, "/app/rel"},
		{"User", cfg.User, "nobody"},
		{"ExposedPorts", cfg.ExposedPorts, map[string]struct{}{"80/tcp": {}, "53/udp": {}, "7000/tcp": {}, "7001/tcp": {}}},
		{"Labels", cfg.Labels, map[string]string{"org.example.one": "1", "two": "1"}},
		{"Volumes", cfg.Volumes, map[string]struct{}{"/data": {}, "/logs": {}}},
		{"StopSignal", cfg.StopSignal, "SIGQUIT"},
		{"Shell", cfg.Shell, []string{"/bin/sh", "-ec"}},
		{"OnBuild", cfg.OnBuild, []string{"RUN echo triggered"}},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %#v, want %#v", ch.what, ch.got, ch.want)
		}
	}
	if h := cfg.Healthcheck; h == nil || !reflect.DeepEqual(h.Test, []string{"CMD-SHELL", "true"}) || h.Interval != 5*time.Second || h.Retries != 2 {
		t.Errorf("Healthcheck = %+v", h)
	}
	// History: the base's entry, then one per instruction after FROM;
	// only the steps that changed files have layers.
	var steps []string
	layers := 0
	for _, h := range c.History[1:] {
		kind := strings.Fields(h.CreatedBy)[0]
		if !h.EmptyLayer {
			kind += "+layer"
			layers++
		}
		steps = append(steps, kind)
	}
	want := "MAINTAINER ARG ARG ENV LABEL WORKDIR+layer COPY+layer COPY+layer COPY+layer ADD+layer RUN+layer RUN+layer WORKDIR+layer " +
		"USER EXPOSE VOLUME STOPSIGNAL HEALTHCHECK SHELL ENTRYPOINT CMD"
	if strings.Join(steps, " ") != want {
		t.Errorf("history:\n got %s\nwant %s", strings.Join(steps, " "), want)
	}
	if len(c.RootFS.DiffIDs) != 1+layers {
		t.Errorf("%d diff IDs, want %d", len(c.RootFS.DiffIDs), 1+layers)
	}
	for _, h := range c.History {
		if strings.HasPrefix(h.CreatedBy, "RUN |2 V=1 FROMCLI=cli /bin/sh -c echo") {
			goto runOK
		}
	}
	t.Errorf("no RUN history with its build args: %+v", c.History)
runOK:
	// The files, seen from a container of the image.
	out := e.must("run", "--rm", "--user", "0", "--entrypoint", "/bin/sh", "all:1", "-c",
		"cat /app/a.txt /app/r.txt /app/h.txt /untar/d/t.txt; cat /app/ls.txt | tr '\\n' ' '; echo; "+
			"stat -c '%u:%g %a' /app/sub/s.txt; ls /glob | tr '\\n' ' '; echo; ls -d /app/rel; ls /proc/1 >/dev/null && echo proc")
	wantOut := "hello\nrun 1 b cli\nheredoc\nfrom tar\na.txt ls.txt r.txt sub \n1:2 640\na.txt \n/app/rel\nproc\n"
	if out != wantOut {
		t.Errorf("files:\n got %q\nwant %q", out, wantOut)
	}
	// The runtime's mount points are not in the RUN layers.
	out = e.must("run", "--rm", "--entrypoint", "/bin/sh", "all:1", "-c", "true")
	_ = out
}

func TestBuildCache(t *testing.T) {
	e := newEnv(t).withBusybox()
	dir := copyTree(t, "testdata/build/cache")
	first := e.build("-t", "c", dir)
	for step, cached := range cachedSteps(first) {
		if cached {
			t.Errorf("cold build: %q cached", step)
		}
	}
	id1, _ := e.rawConfig("c")
	warm := e.build("-t", "c", dir)
	for step, cached := range cachedSteps(warm) {
		if !cached && !strings.HasPrefix(step, "FROM") {
			t.Errorf("warm build: %q not cached", step)
		}
	}
	if id, _ := e.rawConfig("c"); id != id1 {
		t.Errorf("warm rebuild gave another image: %s, was %s", id, id1)
	}
	// Only the modification time changed: still cached.
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "two.txt"), future, future); err != nil {
		t.Fatal(err)
	}
	for step, cached := range cachedSteps(e.build("-t", "c", dir)) {
		if !cached && !strings.HasPrefix(step, "FROM") {
			t.Errorf("after touch: %q not cached", step)
		}
	}
	// Changing the second copied file rebuilds from its COPY on.
	if err := os.WriteFile(filepath.Join(dir, "two.txt"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := cachedSteps(e.build("-t", "c", dir))
	want := map[string]bool{"ENV STEP=1": true, "COPY one.txt /one.txt": true, "RUN cat /one.txt > /copy1.txt": true,
		"COPY two.txt /two.txt": false, "RUN cat /two.txt > /copy2.txt && cat /proc/sys/kernel/random/uuid > /stamp": false, `CMD ["cat", "/copy2.txt"]`: false,
		"FROM busybox": false}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after changing two.txt:\n got %v\nwant %v", got, want)
	}
	if out := e.must("run", "--rm", "c"); out != "changed\n" {
		t.Errorf("image runs %q, want the changed file", out)
	}
	stamp := e.must("run", "--rm", "c", "cat", "/stamp")
	// --no-cache runs everything again.
	for step, cached := range cachedSteps(e.build("--no-cache", "-t", "c", dir)) {
		if cached {
			t.Errorf("--no-cache: %q cached", step)
		}
	}
	if again := e.must("run", "--rm", "c", "cat", "/stamp"); again == stamp {
		t.Errorf("--no-cache did not run the RUN again (stamp %q)", again)
	}
	// Remove the image and prune: the cache must not point at removed
	// layers; the rebuild is correct.
	e.must("rmi", "c")
	e.must("image", "prune", "-f")
	e.build("-t", "c", dir)
	if out := e.must("run", "--rm", "c"); out != "changed\n" {
		t.Errorf("after prune the image runs %q", out)
	}
	// No cache entry names a layer blob that is not in the store.
	entries, _ := filepath.Glob(filepath.Join(e.root, "build", "cache", "*.json"))
	if len(entries) == 0 {
		t.Error("no cache entries")
	}
	for _, f := range entries {
		b, _ := os.ReadFile(f)
		var ent struct {
			Layer *struct{ Digest string } `json:"layer"`
		}
		if err := json.Unmarshal(b, &ent); err != nil {
			t.Errorf("cache entry %s: %v", f, err)
			continue
		}
		if ent.Layer == nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(e.root, "content", "blobs", "sha256", strings.TrimPrefix(ent.Layer.Digest, "sha256:"))); err != nil {
			t.Errorf("cache entry %s points at a missing layer %s", filepath.Base(f), ent.Layer.Digest)
		}
	}
}

func TestBuildMultiStage(t *testing.T) {
	e := newEnv(t).withBusybox()
	dir := copyTree(t, "testdata/build/multistage")
	out := e.build("-t", "ms", dir)
	if strings.Contains(out, "[unused") {
		t.Errorf("a stage the target does not need was built:\n%s", out)
	}
	_, c := e.rawConfig("ms")
	if len(c.RootFS.DiffIDs) != 3 {
		t.Errorf("final stage has %d layers, want 3 (from scratch)", len(c.RootFS.DiffIDs))
	}
	e.must("build", "-q", "--target", "left", "-t", "left", dir)
	if got := e.must("run", "--rm", "left", "cat", "/base.txt", "/left.txt"); got != "base\nleft\n" {
		t.Errorf("--target left: %q", got)
	}
	// The final image has no shell: look at its files through a stage
	// that copies them into busybox.
	df := filepath.Join(t.TempDir(), "Dockerfile")
	os.WriteFile(df, []byte("FROM busybox\nCOPY --from=ms /out /out\n"), 0o644)
	e.must("build", "-q", "-f", df, "-t", "check", dir)
	if got := e.must("run", "--rm", "check", "sh", "-c", "cd /out && ls | tr '\\n' ' ' && cat again.txt base.txt left.txt right.txt"); got != "again.txt base.txt left.txt right.txt left\nbase\nleft\nright\n" {
		t.Errorf("copied files: %q", got)
	}
	e.fails(1, "failed to reach build target nope", "build", "--target", "nope", dir)
	e.fails(1, "exit code: 7", "build", "--target", "unused", dir)
}

func TestBuildOnbuild(t *testing.T) {
	e := newEnv(t).withBusybox()
	e.must("build", "-q", "-t", "onbase", "testdata/build/onbuild-base")
	out := e.build("-t", "child", copyTree(t, "testdata/build/onbuild-child"))
	if !strings.Contains(out, "RUN echo triggered > /trigger.txt") {
		t.Errorf("trigger not run:\n%s", out)
	}
	_, c := e.rawConfig("child")
	if len(c.Config.OnBuild) != 0 {
		t.Errorf("child kept the triggers: %v", c.Config.OnBuild)
	}
	if got := e.must("run", "--rm", "child", "sh", "-c", "cat /trigger.txt; echo $FROM_TRIGGER"); got != "triggered\nyes\n" {
		t.Errorf("child: %q", got)
	}
}

func TestBuildStdinAndFlags(t *testing.T) {
	e := newEnv(t).withBusybox()
	iid := filepath.Join(t.TempDir(), "iid")
	out, stderr, code := e.run([]byte("FROM busybox\nARG X\nRUN echo $X > /x\n"), "build", "-q", "--iidfile", iid, "--build-arg", "X=42",
		"--build-arg", "UNUSED=1", "--label", "from.flag=yes", "-t", "stdin", "-")
	if code != 0 {
		t.Fatalf("build -: %d %s", code, stderr)
	}
	b, _ := os.ReadFile(iid)
	id, c := e.rawConfig("stdin")
	if c.Config.Labels["from.flag"] != "yes" {
		t.Errorf("--label: labels %v", c.Config.Labels)
	}
	if strings.TrimSpace(out) != id || string(b) != id {
		t.Errorf("-q printed %q, --iidfile has %q, image is %s", out, b, id)
	}
	if got := e.must("run", "--rm", "stdin", "cat", "/x"); got != "42\n" {
		t.Errorf("build arg: %q", got)
	}
	// COPY without a context fails clearly.
	_, stderr, code = e.run([]byte("FROM busybox\nCOPY a /a\n"), "build", "-")
	if code != 1 || !strings.Contains(stderr, "Dockerfile:2") {
		t.Errorf("COPY without context: exit %d, %q", code, stderr)
	}
}

func TestBuildErrors(t *testing.T) {
	e := newEnv(t).withBusybox()
	dir := t.TempDir()
	write := func(text string) {
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("FROM busybox\n")
	e.fails(125, "invalid reference format", "build", "-t", "Bad:Name", dir)
	write("FROM busybox\nRUN true\nFOO bar\n")
	e.fails(1, "Dockerfile:3: dockerfile parse error on line 3: unknown instruction: FOO", "build", "-t", "bad", dir)
	write("FROM busybox\nRUN echo first; echo last words; exit 3\n")
	e.fails(1, "exit code: 3", "build", "-t", "bad", dir)
	_, stderr, _ := e.run(nil, "build", "-t", "bad", dir)
	if !strings.Contains(stderr, "last words") {
		t.Errorf("failing RUN: no output tail in %q", stderr)
	}
	write("FROM busybox\nCOPY ../x /x\n")
	e.fails(1, "outside the build context", "build", "-t", "bad", dir)
	if err := os.Symlink("/etc", filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	write("FROM busybox\nCOPY out/passwd /x\n")
	e.fails(1, "outside the build context", "build", "-t", "bad", dir)
	// A registry on loopback where nothing listens: the pull fails at once.
	write("FROM 127.0.0.1:1/nosuchimage:1\n")
	e.fails(1, "nosuchimage", "build", "-t", "bad", dir)
	if out := e.must("images", "-q", "bad"); out != "" {
		t.Errorf("a failed build tagged an image: %q", out)
	}
	e.checkNoBuildLeftovers()
}

// checkNoBuildLeftovers asserts no build step directory, mount or
// runtime container is left.
func (e *env) checkNoBuildLeftovers() {
	e.t.Helper()
	if ents, _ := os.ReadDir(filepath.Join(e.root, "build", "run")); len(ents) != 0 {
		e.t.Errorf("build work directories left: %v", ents)
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mi), filepath.Join(e.root, "build")) {
		e.t.Errorf("build mounts left:\n%s", mi)
	}
	rt := filepath.Join(filepath.Dir(binary), "berth-runtime")
	out, err := exec.Command(rt, "--root", filepath.Join(e.root, "build", "runtime"), "list", "-q").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		e.t.Errorf("build containers left in the runtime: %s (%v)", out, err)
	}
}

// startSleepingBuild starts a build tagged tag whose RUN sleeps, and
// returns once the RUN has started (its output is drained after).
func (e *env) startSleepingBuild(tag string) *exec.Cmd {
	e.t.Helper()
	dir := e.t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox\nRUN echo started; sleep 30\n"), 0o644)
	cmd := exec.Command(binary, "--root", e.root, "build", "--progress", "plain", "-t", tag, dir)
	pr, pw, _ := os.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	pw.Close()
	buf := make([]byte, 4096)
	var seen string
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(seen, "started") && time.Now().Before(deadline); {
		n, err := pr.Read(buf)
		if err != nil {
			break
		}
		seen += string(buf[:n])
	}
	if !strings.Contains(seen, "started") {
		cmd.Process.Kill()
		cmd.Wait()
		pr.Close()
		e.t.Fatalf("RUN did not start: %q", seen)
	}
	// Keep reading, so that the build never blocks on a full pipe.
	go func() { io.Copy(io.Discard, pr); pr.Close() }()
	return cmd
}

func TestBuildKilled(t *testing.T) {
	e := newEnv(t).withBusybox()
	cmd := e.startSleepingBuild("killed")
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	// The build's watcher removes the RUN container, its mount and its
	// snapshot at once, without waiting for another build.
	gone := func() bool {
		ents, _ := os.ReadDir(filepath.Join(e.root, "build", "run"))
		return len(ents) == 0 && !e.sleepRuns()
	}
	for deadline := time.Now().Add(20 * time.Second); !gone() && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	if !gone() {
		t.Errorf("20s after kill -9 the build's step is still there (running: %v)", e.sleepRuns())
	}
	e.checkNoBuildLeftovers()
	// The next build cleans up after the killed one, then builds.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox\nRUN echo ok > /ok\n"), 0o644)
	e.must("build", "-q", "-t", "after", dir)
	if out := e.must("run", "--rm", "after", "cat", "/ok"); out != "ok\n" {
		t.Errorf("after a killed build: %q", out)
	}
	if out := e.must("images", "-q", "killed"); out != "" {
		t.Errorf("the killed build tagged an image: %q", out)
	}
	e.checkNoBuildLeftovers()
	if e.sleepRuns() {
		t.Error("the killed build's RUN still runs")
	}
}

// sleepRuns tells whether TestBuildKilled's RUN command still runs.
func (e *env) sleepRuns() bool {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), "echo started; sleep 30") {
			return true
		}
	}
	return false
}

// compareDocker compares the image's config (all but created and rootfs)
// and history (after the base image's entry) with what docker 20.10.24's
// BuildKit made of the same Dockerfile, recorded in golden: the config as
// JSON, the number of layers the build added, then one line per history
// entry ("True|False created_by comment").
func (e *env) compareDocker(ref, golden string) {
	e.t.Helper()
	want, err := os.ReadFile(golden)
	if err != nil {
		e.t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(want)), "\n")
	id := strings.TrimSpace(e.must("image", "inspect", "--format", "{{.Id}}", ref))
	b, err := os.ReadFile(filepath.Join(e.root, "content", "blobs", "sha256", strings.TrimPrefix(id, "sha256:")))
	if err != nil {
		e.t.Fatal(err)
	}
	var got map[string]any
	var gotFull struct {
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
		History []struct {
			CreatedBy  string `json:"created_by"`
			Comment    string `json:"comment"`
			EmptyLayer bool   `json:"empty_layer"`
		} `json:"history"`
	}
	json.Unmarshal(b, &got)
	json.Unmarshal(b, &gotFull)
	for _, k := range []string{"created", "rootfs", "history"} {
		delete(got, k)
	}
	var wantCfg map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &wantCfg); err != nil {
		e.t.Fatal(err)
	}
	dropNulls(got)
	dropNulls(wantCfg)
	if !reflect.DeepEqual(got, wantCfg) {
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(wantCfg)
		e.t.Errorf("config differs from docker 20.10's:\n got %s\nwant %s", gb, wb)
	}
	baseLayers := 1 // busybox
	if n := fmt.Sprint(len(gotFull.RootFS.DiffIDs) - baseLayers); n != lines[1] {
		e.t.Errorf("%s layers added, docker 20.10 added %s", n, lines[1])
	}
	var hist []string
	for _, h := range gotFull.History[1:] {
		empty := "False"
		if h.EmptyLayer {
			empty = "True"
		}
		hist = append(hist, empty+" "+h.CreatedBy+" "+h.Comment)
	}
	if g, w := strings.Join(hist, "\n"), strings.Join(lines[2:], "\n"); g != w {
		e.t.Errorf("history differs from docker 20.10's:\n got:\n%s\nwant:\n%s", g, w)
	}
}

// dropNulls removes null values from a decoded JSON object, recursively:
// Docker writes some absent fields as null, berth leaves them out.
func dropNulls(m map[string]any) {
	for k, v := range m {
		switch v := v.(type) {
		case nil:
			delete(m, k)
		case map[string]any:
			dropNulls(v)
		}
	}
}

func TestBuildSemantics(t *testing.T) {
	e := newEnv(t).withBusybox()
	dir := copyTree(t, "testdata/build/semantics")
	e.build("--build-arg", "HTTP_PROXY=http://proxy:3128", "-t", "sem", dir)
	e.compareDocker("sem", "testdata/build/semantics/docker-20.10.txt")
	out := e.must("run", "--rm", "--entrypoint", "cat", "sem", "/g1", "/g2", "/shadow", "/platform", "/proxy", "/shell")
	arch := strings.TrimSpace(e.must("run", "--rm", "--entrypoint", "uname", "sem", "-m"))
	goarch := map[string]string{"x86_64": "amd64", "aarch64": "arm64"}[arch]
	want := "before:[]\nafter:[g]\nshadow:[env]\nplatform:[linux/" + goarch + "]\nproxy:[http://proxy:3128]\nshell:[yes]\n"
	if out != want {
		t.Errorf("files:\n got %q\nwant %q", out, want)
	}
	_, c := e.rawConfig("sem")
	for _, h := range c.History {
		if strings.Contains(h.CreatedBy, "proxy:3128") {
			t.Errorf("a proxy build arg is in the history: %q", h.CreatedBy)
		}
	}
}

func TestBuildHeredocAndEscape(t *testing.T) {
	e := newEnv(t).withBusybox()
	e.build("-t", "hd", copyTree(t, "testdata/build/heredoc"))
	out := e.must("run", "--rm", "hd", "cat", "/one", "/script", "/two-a", "/two-b", "/copied.txt", "/tmp/uid")
	if want := "one\ntwo\nscript:/dev/pipes/EOT\nfirst\nsecond\ncopied text\n65534\n65534\n"; out != want {
		t.Errorf("heredocs:\n got %q\nwant %q", out, want)
	}
	e.build("-t", "esc", copyTree(t, "testdata/build/escape"))
	if out := e.must("run", "--rm", "esc", "sh", "-c", "cat /esc; echo $P"); out != "one two\nC:\\dir\n" {
		t.Errorf("escape directive: %q", out)
	}
	// berth image build is the same command.
	out = e.must("image", "build", "-q", copyTree(t, "testdata/build/escape"))
	if !strings.HasPrefix(strings.TrimSpace(out), "sha256:") {
		t.Errorf("image build -q: %q", out)
	}
}

func TestBuildInterrupted(t *testing.T) {
	e := newEnv(t).withBusybox()
	cmd := e.startSleepingBuild("interrupted")
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Errorf("interrupted build: %v, want exit 1", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("Ctrl-C did not stop the build within 10s")
	}
	// Cleaned up in-process, at once.
	e.checkNoBuildLeftovers()
	if e.sleepRuns() {
		t.Error("the interrupted RUN still runs")
	}
	if out := e.must("images", "-q", "interrupted"); out != "" {
		t.Errorf("an interrupted build tagged an image: %q", out)
	}
}

// TestBuildNativeSnapshotter builds with the copy-based snapshotter, where
// a step's changes are found by comparing trees (not an overlay upper).
func TestBuildNativeSnapshotter(t *testing.T) {
	e := newEnv(t)
	n := func(args ...string) string { return e.must(append([]string{"--snapshotter", "native"}, args...)...) }
	n("image", "bootstrap", "-q", "busybox")
	dir := copyTree(t, "testdata/build/multistage")
	n("build", "-q", "-t", "ms", dir)
	df := filepath.Join(t.TempDir(), "Dockerfile")
	os.WriteFile(df, []byte("FROM busybox\nCOPY --from=ms /out /out\nRUN rm /out/base.txt && echo x > /out/new.txt\n"), 0o644)
	n("build", "-q", "-f", df, "-t", "nat", dir)
	if got := n("run", "--rm", "nat", "ls", "/out"); got != "again.txt\nleft.txt\nnew.txt\nright.txt\n" {
		t.Errorf("files after a RUN that deletes one: %q", got)
	}
	_, stderr, code := e.run(nil, "--snapshotter", "native", "build", "--progress", "plain", "-f", df, "-t", "nat", dir)
	if code != 0 || strings.Count(stderr, "CACHED") != 2 {
		t.Errorf("warm native rebuild: exit %d, want 2 cached steps:\n%s", code, stderr)
	}
}

// TestBuildCacheParentContent: when a step runs again (its cache entry is
// gone) and makes other files, the steps after it run again too, even
// though their own entries are still there: they were made on the old
// files.
func TestBuildCacheParentContent(t *testing.T) {
	e := newEnv(t).withBusybox()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox\nRUN cat /proc/sys/kernel/random/uuid > /a\nRUN cp /a /b\n"), 0o644)
	e.build("-t", "pc", dir)
	_, c := e.rawConfig("pc")
	first := c.RootFS.DiffIDs[1]
	entries, _ := filepath.Glob(filepath.Join(e.root, "build", "cache", "*.json"))
	removed := 0
	for _, f := range entries {
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), first) {
			os.Remove(f)
			removed++
		}
	}
	if removed != 1 {
		t.Fatalf("removed %d cache entries of the first RUN, want 1", removed)
	}
	got := cachedSteps(e.build("-t", "pc", dir))
	if got["RUN cat /proc/sys/kernel/random/uuid > /a"] || got["RUN cp /a /b"] {
		t.Errorf("steps cached after their parent changed: %v", got)
	}
	if out := e.must("run", "--rm", "pc", "sh", "-c", "cmp /a /b && echo same"); out != "same\n" {
		t.Errorf("/b is not a copy of the new /a: %q", out)
	}
}

// TestBuildReviewFixes: proxy build args reach RUN but, as in BuildKit,
// are not part of its cache key and raise no "not consumed" warning;
// RUN --network=host sees the host's interfaces; a relative -f is read
// from the current directory, as docker build does, not from the
// context.
func TestBuildReviewFixes(t *testing.T) {
	e := newEnv(t).withBusybox()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM busybox\nRUN echo $HTTP_PROXY > /proxy\n"+
		"RUN --network=host cat /proc/net/dev > /host-net\nRUN cat /proc/net/dev > /own-net\n"), 0o644)
	out := e.build("--build-arg", "HTTP_PROXY=http://one", "-t", "px", dir)
	if strings.Contains(out, "not consumed") {
		t.Errorf("proxy arg reported unused:\n%s", out)
	}
	if got := e.must("run", "--rm", "px", "cat", "/proxy"); got != "http://one\n" {
		t.Errorf("RUN saw HTTP_PROXY %q", got)
	}
	if got := cachedSteps(e.build("--build-arg", "HTTP_PROXY=http://two", "-t", "px", dir)); !got["RUN echo $HTTP_PROXY > /proxy"] {
		t.Errorf("a new proxy value rebuilt the RUN: %v", got)
	}
	hostNet, _ := os.ReadFile("/proc/net/dev")
	if got := e.must("run", "--rm", "px", "cat", "/host-net"); got != string(hostNet) && strings.Count(got, "\n") != strings.Count(string(hostNet), "\n") {
		t.Errorf("RUN --network=host saw:\n%s\nhost has:\n%s", got, hostNet)
	}
	if got := e.must("run", "--rm", "px", "cat", "/own-net"); strings.Count(got, "\n") != 3 {
		t.Errorf("RUN without --network saw:\n%s", got)
	}

	// -f relative to the current directory, the context elsewhere.
	cwd := t.TempDir()
	os.MkdirAll(filepath.Join(cwd, "docker"), 0o755)
	os.WriteFile(filepath.Join(cwd, "docker", "Dockerfile"), []byte("FROM busybox\nLABEL from=cwd\n"), 0o644)
	ctx := t.TempDir()
	cmd := exec.Command(binary, "--root", e.root, "build", "-q", "-f", "docker/Dockerfile", "-t", "rel", ctx)
	cmd.Dir = cwd
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build -f docker/Dockerfile: %v: %s", err, b)
	}
	if _, c := e.rawConfig("rel"); c.Config.Labels["from"] != "cwd" {
		t.Errorf("-f read another file: labels %v", c.Config.Labels)
	}
	e.checkNoBuildLeftovers()
}
