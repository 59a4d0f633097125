package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	ctrspec "berth/engine/ocispec"
)

// runSpec is what a RUN step runs: argv, the environment (image ENV and
// the stage's build args), user, working directory, network mode and
// files bound in (heredoc scripts).
type runSpec struct {
	argv    []string
	env     []string // image ENV
	args    []string // build args, KEY=VALUE, not overridden by ENV
	user    string
	workdir string
	network string // "", "none", "host"
	binds   []string
}

// RunError is a RUN step whose command failed: its exit code and the
// last lines of its output.
type RunError struct {
	Command  string
	ExitCode int
	Tail     []string
}

// Error is BuildKit's message, with the last lines of output below it.
func (e *RunError) Error() string {
	msg := fmt.Sprintf("process %q did not complete successfully: exit code: %d", e.Command, e.ExitCode)
	if len(e.Tail) > 0 {
		msg += "\nlast output:\n  " + strings.Join(e.Tail, "\n  ")
	}
	return msg
}

// runContainer runs r in a container on rootfs through the OCI runtime
// (berth-runtime's runc-compatible `run`), streaming its output to out.
// The spec is the one `berth run` would give (engine/ocispec: Docker's
// capabilities, seccomp profile, masked paths), with the stage's env,
// user, working directory and shell. Mount points the runtime had to
// create in the rootfs (/proc, /dev, /etc/hosts, ...) are removed after,
// so they do not end up in the layer, as BuildKit does.
func (b *Builder) runContainer(ctx context.Context, rootfs, work string, r runSpec, out io.Writer) error {
	id := snapPrefix + filepath.Base(work)
	empty := ""
	// /etc/hosts, /etc/resolv.conf and /etc/hostname are bound in only
	// with the host's network, where names resolve: mounting them means
	// copying /etc up into every RUN layer.
	ctrDir := ""
	if r.network == "host" {
		ctrDir = filepath.Join(work, "ctr")
		if err := os.Mkdir(ctrDir, 0o700); err != nil {
			return err
		}
	}
	img := ctrspec.Options{
		ID: id, Rootfs: rootfs, Entrypoint: &empty, Cmd: r.argv, Env: r.args,
		User: r.user, Workdir: r.workdir, ContainerDir: ctrDir, NetNS: r.network,
		Binds: r.binds, Hostname: "buildkitsandbox",
	}
	img.Image.Env = r.env
	spec, err := ctrspec.Build(img)
	if err != nil {
		return fmt.Errorf("container configuration: %w", err)
	}
	stubs := missingMountPoints(rootfs, spec.Mounts)
	defer removeStubs(rootfs, stubs)
	bj, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(work, "config.json"), bj, 0o600); err != nil {
		return err
	}
	tail := &tailWriter{max: 10}
	stderr := &strings.Builder{}
	cmd := exec.CommandContext(ctx, b.runtime, "--root", b.runtimeRoot(), "run", "--bundle", work, id)
	cmd.Stdout = io.MultiWriter(out, tail)
	cmd.Stderr = io.MultiWriter(out, tail, &capped{w: stderr, n: 4096})
	// A berth killed -9 takes the runtime with it; the build's watcher
	// (or the next build) deletes the container the runtime left.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// Cancelled (Ctrl-C): kill the container, not only the runtime, whose
	// death would leave the container running and holding the output
	// pipes; and do not wait for those pipes for long.
	cmd.Cancel = func() error {
		b.deleteContainer(id)
		return cmd.Process.Kill()
	}
	cmd.WaitDelay = 2 * time.Second
	err = cmd.Run()
	if err == nil {
		return nil
	}
	b.deleteContainer(id)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() > 0 {
		return &RunError{Command: strings.Join(r.argv, " "), ExitCode: ee.ExitCode(), Tail: tail.lines()}
	}
	return fmt.Errorf("run %s: %w: %s", b.runtime, err, strings.TrimSpace(stderr.String()))
}

// deleteContainer removes what the runtime may have left of a build
// container (killed runtime, cancelled build).
func (b *Builder) deleteContainer(id string) {
	cmd := exec.Command(b.runtime, "--root", b.runtimeRoot(), "delete", "--force", id)
	_ = cmd.Run()
}

// missingMountPoints lists the mount destinations that do not exist in
// rootfs yet, deepest first.
func missingMountPoints(rootfs string, mounts []specMount) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range mounts {
		for p := filepath.Clean(m.Destination); p != "/" && p != "."; p = filepath.Dir(p) {
			if seen[p] {
				break
			}
			seen[p] = true
			full, err := securejoin.SecureJoin(rootfs, p)
			if err != nil {
				continue
			}
			if _, err := os.Lstat(full); errors.Is(err, os.ErrNotExist) {
				out = append(out, p)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.Count(out[i], "/") > strings.Count(out[j], "/") })
	return out
}

// removeStubs removes the mount points the runtime created, when they are
// still empty directories or empty files.
func removeStubs(rootfs string, stubs []string) {
	for _, p := range stubs {
		full, err := securejoin.SecureJoin(rootfs, p)
		if err != nil {
			continue
		}
		fi, err := os.Lstat(full)
		if err != nil || !(fi.IsDir() || fi.Mode().IsRegular() && fi.Size() == 0) {
			continue
		}
		_ = os.Remove(full) // fails, as it should, on a non-empty directory
	}
}

// tailWriter keeps the last max lines written to it.
type tailWriter struct {
	mu   sync.Mutex
	max  int
	buf  []string
	part string
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.part + string(p)
	parts := strings.Split(s, "\n")
	t.part = parts[len(parts)-1]
	if len(t.part) > 4096 {
		t.part = t.part[:4096]
	}
	for _, l := range parts[:len(parts)-1] {
		t.buf = append(t.buf, l)
		if len(t.buf) > t.max {
			t.buf = t.buf[1:]
		}
	}
	return len(p), nil
}

func (t *tailWriter) lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := append([]string(nil), t.buf...)
	if t.part != "" {
		out = append(out, t.part)
	}
	if len(out) > t.max {
		out = out[len(out)-t.max:]
	}
	return out
}

// capped writes at most n bytes to w and drops the rest.
type capped struct {
	w io.Writer
	n int
}

func (c *capped) Write(p []byte) (int, error) {
	if c.n > 0 {
		q := p
		if len(q) > c.n {
			q = q[:c.n]
		}
		c.n -= len(q)
		_, _ = c.w.Write(q)
	}
	return len(p), nil
}

type specMount = specs.Mount
