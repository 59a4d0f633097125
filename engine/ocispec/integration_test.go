package ocispec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// makeBusyboxRootfs lays out a minimal rootfs from Debian's busybox-static
// (as tests/runtime's harness does), with passwd and group files.
func makeBusyboxRootfs(t *testing.T, dir string) {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skipf("busybox-static is needed (apt-get install busybox-static): %v", err)
	}
	for _, d := range []string{"bin", "proc", "sys", "dev", "etc", "tmp", "root"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "bin/busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(dir, "bin/busybox"), "--list").Output()
	if err != nil {
		t.Fatalf("busybox --list: %v", err)
	}
	for _, a := range strings.Fields(string(out)) {
		if a != "busybox" {
			if err := os.Symlink("busybox", filepath.Join(dir, "bin", a)); err != nil && !os.IsExist(err) {
				t.Fatal(err)
			}
		}
	}
	writeFile(t, dir, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n")
	writeFile(t, dir, "etc/group", "root:x:0:\nstaff:x:50:nobody\nnogroup:x:65534:\n")
}

// buildRuntime builds berth-runtime (static, as the runtime tests do)
// into a test directory.
func buildRuntime(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "berth-runtime")
	cmd := exec.Command("go", "build", "-tags", "osusergo,netgo", "-ldflags", `-extldflags "-static"`, "-o", bin, "berth/cmd/berth-runtime")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("cannot build berth-runtime: %v\n%s", err, out)
	}
	return bin
}

// TestRunWithBerthRuntime builds a spec for a busybox rootfs and runs it
// with berth-runtime: the configuration is accepted, and the user, env,
// cwd, a bind mount, a tmpfs, the generated /etc files and the memory
// limit are what the options asked for.
func TestRunWithBerthRuntime(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs a container with berth-runtime")
	}
	if testing.Short() {
		t.Skip("builds and runs berth-runtime")
	}
	runtimeBin := buildRuntime(t)
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	makeBusyboxRootfs(t, rootfs)
	host := t.TempDir()
	writeFile(t, host, "greeting", "hello from the host\n")

	id := fmt.Sprintf("ocispec-it-%d", time.Now().UnixNano())
	o := Options{
		ID:           id,
		Rootfs:       rootfs,
		Entrypoint:   strp("/bin/sh"),
		Cmd:          []string{"-c", `id; echo "FOO=$FOO"; pwd; cat /data/greeting; touch /data/x 2>/dev/null && echo bind-writable || echo bind-readonly; grep " /scratch " /proc/mounts; cat /etc/hostname; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max`},
		Env:          []string{"FOO=bar"},
		User:         "nobody",
		Workdir:      "/work/dir",
		Hostname:     "ocispec-test",
		Binds:        []string{host + ":/data:ro"},
		Tmpfs:        []string{"/scratch:size=1m,mode=1770"},
		Memory:       "64m",
		ContainerDir: t.TempDir(),
	}
	out := runBuilt(t, runtimeBin, o)
	for _, want := range []string{
		"uid=65534(nobody) gid=65534(nogroup) groups=50(staff),65534(nogroup)",
		"FOO=bar\n",
		"/work/dir\n",
		"hello from the host\n",
		"bind-readonly\n",
		"tmpfs /scratch tmpfs rw,nosuid,nodev,noexec",
		"size=1024k,mode=1770",
		"ocispec-test\n",
		"67108864\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("container output lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(host, "x")); err == nil {
		t.Error("the read-only bind was written to")
	}

	// Confinement: a read-only rootfs, root with only two capabilities,
	// Docker's seccomp profile, no_new_privs, a ulimit, a pids limit.
	o = Options{
		ID: id + "-c", Rootfs: rootfs, ReadOnly: true,
		Cmd:         []string{"sh", "-c", `touch /x 2>/dev/null && echo rootfs-writable || echo rootfs-readonly; grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status; ulimit -n; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max`},
		CapDrop:     []string{"ALL"},
		CapAdd:      []string{"CHOWN", "KILL"},
		SecurityOpt: []string{"no-new-privileges"},
		Ulimits:     []string{"nofile=512"},
		PidsLimit:   "20",
	}
	out = runBuilt(t, runtimeBin, o)
	for _, want := range []string{"rootfs-readonly\n", "CapEff:\t0000000000000021\n", "CapBnd:\t0000000000000021\n", "NoNewPrivs:\t1\n", "Seccomp:\t2\n", "512\n", "20\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("confined container output lacks %q", want)
		}
	}

	// --privileged: every capability, no seccomp, /sys writable, host
	// devices present.
	o = Options{
		ID: id + "-p", Rootfs: rootfs, Privileged: true,
		Cmd: []string{"sh", "-c", `grep -E "^(CapEff|Seccomp):" /proc/self/status; grep " /sys sysfs " /proc/mounts; test -c /dev/zero && echo has-zero`},
	}
	out = runBuilt(t, runtimeBin, o)
	for _, want := range []string{"Seccomp:\t0\n", "sysfs /sys sysfs rw", "has-zero\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("privileged container output lacks %q", want)
		}
	}
	if strings.Contains(out, "CapEff:\t00000000000") {
		t.Errorf("privileged container lacks capabilities")
	}
}

// runBuilt builds o's spec, writes a bundle, runs it with berth-runtime
// and returns its stdout.
func runBuilt(t *testing.T, runtimeBin string, o Options) string {
	t.Helper()
	s, err := Build(o)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	bundle := t.TempDir()
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	t.Cleanup(func() {
		// run deletes the container; this is for a failure midway.
		exec.Command(runtimeBin, "--root", state, "delete", "--force", o.ID).Run()
	})
	cmd := exec.Command(runtimeBin, "--root", state, "run", "--bundle", bundle, o.ID)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("berth-runtime run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	t.Logf("container %s output:\n%s", o.ID, stdout.String())
	return stdout.String()
}
