package runtime_test

// Regression tests for the runc CVEs that apply to any OCI runtime, in the
// manner of runc's own: one named test per CVE, each mounting the attack it
// describes against files and directories the test made itself (a "host"
// directory in t.TempDir() stands for the host), never against /etc or
// other host files. Helpers here are prefixed with cve so they do not
// clash with the other test files of the package.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/runtime/console"
)

// runtimeSum is the sha256 of the runtime's binaries: berth-runtime and
// berth-runtime-init beside it, either of which a container's init runs.
func runtimeSum(t *testing.T) string {
	t.Helper()
	return cveSum(t, binary) + " " + cveSum(t, filepath.Join(filepath.Dir(binary), "berth-runtime-init"))
}

// cveSum returns the hex sha256 of the file at path.
func cveSum(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// cveSnapshot records every entry under dir (its type, and the content of
// files or the target of links) so a test can show an attack changed
// nothing there.
func cveSnapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			snap[rel] = "link:" + target
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			snap[rel] = "file:" + string(b)
		default:
			snap[rel] = fi.Mode().Type().String()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// cveUnchanged fails the test if dir differs from its snapshot.
func cveUnchanged(t *testing.T, dir string, before map[string]string) {
	t.Helper()
	after := cveSnapshot(t, dir)
	for p, v := range after {
		if w, ok := before[p]; !ok {
			t.Errorf("host directory %s: %s appeared (%.40q)", dir, p, v)
		} else if w != v {
			t.Errorf("host directory %s: %s changed from %.40q to %.40q", dir, p, w, v)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			t.Errorf("host directory %s: %s disappeared", dir, p)
		}
	}
}

// cveHostDir makes the directory that stands for the host in an attack:
// it holds a file, victim, that no container may change, and returns the
// directory with its snapshot.
func cveHostDir(t *testing.T) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "victim"), []byte("host data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, cveSnapshot(t, dir)
}

// cveWrite writes a file (with its parents), failing the test on error.
func cveWrite(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// cveSymlink replaces whatever is at link with a symlink to target.
func cveSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// cveDropMount removes the mount at dest from the bundle's config.
func (b *bundle) cveDropMount(dest string) {
	var ms []specs.Mount
	for _, m := range b.Spec.Mounts {
		if m.Destination != dest {
			ms = append(ms, m)
		}
	}
	b.Spec.Mounts = ms
}

// cveAddCaps gives the process more capabilities, in every set that
// matters to a root process.
func (b *bundle) cveAddCaps(caps ...string) {
	c := b.Spec.Process.Capabilities
	c.Bounding = append(c.Bounding, caps...)
	c.Effective = append(c.Effective, caps...)
	c.Permitted = append(c.Permitted, caps...)
}

// cveStart creates and starts the bundle and returns the container's id
// and init pid.
func (e *env) cveStart(b *bundle) (string, int) {
	e.t.Helper()
	id := e.id()
	e.mustRun("create", "--bundle", b.save(e.t), id)
	pid := int(e.state(id)["pid"].(float64))
	e.mustRun("start", id)
	return id, pid
}

// cveLines returns the non-empty lines of out, trimmed.
func cveLines(out string) []string {
	var ls []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			ls = append(ls, l)
		}
	}
	return ls
}

// cveWaitFor polls the file at path until it contains one of want (or,
// with none given, exists).
func cveWaitFor(t *testing.T, path string, timeout time.Duration, want ...string) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil {
			if len(want) == 0 {
				return true
			}
			for _, w := range want {
				if strings.Contains(string(b), w) {
					return true
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// cveAttackScript is a shell function for containers that try to overwrite
// the executable of another process through /proc, as CVE-2019-5736 did:
// directly through /proc/<pid>/exe, and by holding it open and reopening
// it for writing through /proc/self/fd once the process has exited (when
// the kernel no longer refuses writes to a running executable with
// ETXTBSY). It appends what happened to $log:
//
//	DENIED <pid>        /proc/<pid>/exe could not be opened at all
//	OPENED <pid> <exe>  it could (for reading)
//	WROTE <pid> <how>   a write went through: the attack succeeded
//
// Processes running busybox (the container's own binary) are left alone.
// It only appends, so a successful attack leaves a runnable binary with a
// changed sha256.
const cveAttackScript = `
attack() {
	pid=$1
	exe=$(readlink /proc/$pid/exe 2>/dev/null)
	case "$exe" in */busybox) return ;; esac
	if (echo pwned >> /proc/$pid/exe) 2>/dev/null; then echo "WROTE $pid direct $exe" >> $log; fi
	(
		command exec 3< /proc/$pid/exe || { echo "DENIED $pid" >> $log; exit 0; }
		echo "OPENED $pid $exe" >> $log
		if (echo pwned >> /proc/self/fd/3) 2>/dev/null; then echo "WROTE $pid reopen-running $exe" >> $log; fi
		n=0
		while [ -e /proc/$pid/exe ] && [ ! -e /go ] && [ $n -lt 1000 ]; do usleep 10000; n=$((n+1)); done
		if (echo pwned >> /proc/self/fd/3) 2>/dev/null; then echo "WROTE $pid reopen-after $exe" >> $log; fi
	) 2>/dev/null
}
`

// cveAttackerBundle is a container on its own rootfs (so a stray write can
// only hit its own files) that runs script after cveAttackScript.
func cveAttackerBundle(t *testing.T, script string) (*bundle, string) {
	t.Helper()
	b := newBundle(t)
	rootfs := b.privateRootfs(t)
	cveWrite(t, filepath.Join(rootfs, "attack.sh"), cveAttackScript+script, 0o755)
	b.Spec.Process.Args = []string{"sh", "/attack.sh"}
	b.Spec.Process.Env = append(b.Spec.Process.Env, "log=/attack.log")
	return b, rootfs
}

// TestCVE_2019_5736_CreatedInitExe: CVE-2019-5736 let a container
// overwrite runc's binary on the host through /proc/<pid>/exe of runc's
// init while it set the container up. Here a created container's init
// (berth-runtime-init, or `berth-runtime init` from a runtime without it
// beside it, waiting for start) shares its pid namespace with an
// attacking container that tries to write through its exe, directly and
// by reopening a held descriptor after the init has executed the user's
// program. Without CAP_SYS_PTRACE the init must not even be opened (it is
// not dumpable); with it, the handle must be a read-only view of the
// binary. The test's copies of the runtime keep their sha256 throughout.
func TestCVE_2019_5736_CreatedInitExe(t *testing.T) {
	alone := runtimeAlone(t)
	for _, c := range []struct {
		name   string
		bin    string
		ptrace bool
	}{
		{"no-ptrace", "", false}, {"ptrace", "", true},
		{"nsexec/no-ptrace", alone, false}, {"nsexec/ptrace", alone, true},
	} {
		ptrace := c.ptrace
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.bin = c.bin
			sum := runtimeSum(t) + " " + cveSum(t, alone)
			victim := newBundle(t, "sleep", "1000")
			vid := e.id()
			e.mustRun("create", "--bundle", victim.save(t), vid)
			vpid := int(e.state(vid)["pid"].(float64))

			// Pid 1 of the shared pid namespace is the victim's init.
			attacker, rootfs := cveAttackerBundle(t, "attack 1\necho DONE >> $log\nsleep 1000\n")
			attacker.setNamespace(specs.PIDNamespace, fmt.Sprintf("/proc/%d/ns/pid", vpid))
			if ptrace {
				attacker.cveAddCaps("CAP_SYS_PTRACE")
			}
			e.cveStart(attacker)
			logPath := filepath.Join(rootfs, "attack.log")
			if !cveWaitFor(t, logPath, 10*time.Second, "DENIED 1", "OPENED 1 ") {
				t.Fatal("attacker did not report on pid 1")
			}
			// The init executes sleep: the runtime's binary is no longer
			// running anywhere, and a reopened handle would be writable.
			e.mustRun("start", vid)
			e.waitStatus(vid, "running")
			cveWrite(t, filepath.Join(rootfs, "go"), "", 0o644)
			if !cveWaitFor(t, logPath, 20*time.Second, "DONE") {
				t.Error("attacker did not finish")
			}

			log, _ := os.ReadFile(logPath)
			t.Logf("attack log:\n%s", log)
			if strings.Contains(string(log), "WROTE") {
				t.Errorf("the attacker wrote to the runtime's binary:\n%s", log)
			}
			if ptrace && !strings.Contains(string(log), "OPENED 1 ") {
				t.Errorf("with CAP_SYS_PTRACE the attacker should reach the read-only view of init's exe:\n%s", log)
			}
			if !ptrace && !strings.Contains(string(log), "DENIED 1") {
				t.Errorf("without CAP_SYS_PTRACE init's exe must not open (init is not dumpable):\n%s", log)
			}
			if got := runtimeSum(t) + " " + cveSum(t, alone); got != sum {
				t.Fatalf("runtime binary changed: sha256 %s, was %s", got, sum)
			}
		})
	}
}

// TestCVE_2019_5736_Exec: the original CVE-2019-5736 exploit replaced a
// program in the container with "#!/proc/self/exe", so that `runc exec`
// executed runc's own binary inside the container, and a loop in the
// container opened /proc/<pid>/exe of every process to write to it. Here
// such a loop (with CAP_SYS_PTRACE, so dumpability alone does not stop
// it) runs while the test execs plain programs, the "#!/proc/self/exe"
// script, and /proc/self/exe itself held alive by the nsexec constructor
// waiting on a pipe (so the loop is certain to catch one). The binary
// must keep its sha256.
func TestCVE_2019_5736_Exec(t *testing.T) {
	e := newEnv(t)
	sum := runtimeSum(t)
	b, rootfs := cveAttackerBundle(t, `
while [ ! -e /stop ]; do
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		[ "$pid" = $$ ] || attack $pid
	done
done
touch /stopped
sleep 1000
`)
	b.cveAddCaps("CAP_SYS_PTRACE")
	cveWrite(t, filepath.Join(rootfs, "bin/evil"), "#!/proc/self/exe\n", 0o755)
	id, _ := e.cveStart(b)
	logPath := filepath.Join(rootfs, "attack.log")

	for i := 0; i < 15; i++ {
		e.mustRun("exec", id, "true")
		// The runtime's binary runs (and fails on its arguments).
		e.run("exec", id, "/bin/evil")
	}

	// The runtime's binary, run in the container and held alive: the
	// nsexec constructor blocks reading the "init pipe" it is told of.
	opened := func() int {
		b, _ := os.ReadFile(logPath)
		return strings.Count(string(b), "OPENED")
	}
	before := opened()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	pidFile := filepath.Join(t.TempDir(), "pid")
	if _, stderr, code := e.runWithFiles([]*os.File{r}, "exec", "--detach", "--preserve-fds", "1",
		"--pid-file", pidFile, "--env", "_BERTH_INITPIPE=3", id, "/proc/self/exe", "init"); code != 0 {
		t.Fatalf("exec /proc/self/exe: exit %d: %s", code, stderr)
	}
	r.Close()
	hostPid, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	caught := false
	for deadline := time.Now().Add(10 * time.Second); !caught && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		caught = opened() > before
	}
	w.Close() // the held process exits
	if p, err := strconv.Atoi(strings.TrimSpace(string(hostPid))); err == nil {
		for i := 0; i < 500 && processRunning(p); i++ {
			time.Sleep(10 * time.Millisecond)
		}
	}
	cveWrite(t, filepath.Join(rootfs, "stop"), "", 0o644)
	if !cveWaitFor(t, filepath.Join(rootfs, "stopped"), 20*time.Second) {
		t.Error("attack loop did not stop")
	}

	log, _ := os.ReadFile(logPath)
	t.Logf("attack log:\n%s", log)
	if !caught {
		t.Error("the attack loop did not open the exe of the held runtime process")
	}
	if strings.Contains(string(log), "WROTE") {
		t.Errorf("the attacker wrote to the runtime's binary:\n%s", log)
	}
	if got := runtimeSum(t); got != sum {
		t.Fatalf("runtime binary changed: sha256 %s, was %s", got, sum)
	}
}

// cveCwdScript reports whether the process's working directory is one the
// container can reach from its own root, and tries to leave a file there.
const cveCwdScript = `p=$(readlink /proc/self/cwd)
if [ "$(pwd -P 2>/dev/null)" = "$p" ] && [ . -ef "$p" ]; then echo "INSIDE $p"; else echo "OUTSIDE $p"; fi
touch ./PWNED 2>/dev/null
true`

// cveCheckCwd accepts a failed start or exec, or a process whose working
// directory is inside the container; never one outside it.
func cveCheckCwd(t *testing.T, what, out, stderr string, code int) {
	t.Helper()
	if code != 0 {
		t.Logf("%s: refused (exit %d): %s", what, code, strings.TrimSpace(stderr))
		return
	}
	if !strings.HasPrefix(out, "INSIDE /") {
		t.Errorf("%s: working directory outside the container: %q", what, out)
	}
}

// TestCVE_2024_21626_LeakedFdCwd: in CVE-2024-21626 runc leaked a
// descriptor of the host's /sys/fs/cgroup into its init, and
// process.cwd = /proc/self/fd/7 (or `runc exec --cwd`) made it the
// container process's working directory: a way out to the host's
// filesystem. Here cwd is /proc/self/fd/N for N = 3..12, on create and on
// exec: the process must fail to start or have its cwd inside the
// container. Then a host directory handed in on purpose (--preserve-fds)
// as the cwd must be refused, and nothing may be written in it.
func TestCVE_2024_21626_LeakedFdCwd(t *testing.T) {
	e := newEnv(t)
	for n := 3; n <= 12; n++ {
		b := newBundle(t, "sh", "-c", cveCwdScript)
		b.Spec.Process.Cwd = fmt.Sprintf("/proc/self/fd/%d", n)
		out, stderr, code := e.runContainer(b)
		cveCheckCwd(t, "run with cwd "+b.Spec.Process.Cwd, out, stderr, code)
	}

	id, _ := e.cveStart(newBundle(t, "sleep", "1000"))
	// A refused exec below must be the defence, not exec being broken.
	e.mustRun("exec", id, "true")
	for n := 3; n <= 12; n++ {
		cwd := fmt.Sprintf("/proc/self/fd/%d", n)
		out, stderr, code := e.run("exec", "--cwd", cwd, id, "sh", "-c", cveCwdScript)
		cveCheckCwd(t, "exec --cwd "+cwd, out, stderr, code)
	}

	host, snap := cveHostDir(t)
	dir, err := os.Open(host)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	b := newBundle(t, "sh", "-c", cveCwdScript)
	b.Spec.Process.Cwd = "/proc/self/fd/3"
	out, stderr, code := e.runWithFiles([]*os.File{dir}, "run", "--preserve-fds", "1", "--bundle", b.save(t), e.id())
	if code == 0 {
		t.Errorf("run with a host directory as cwd succeeded: %s", out)
	} else {
		t.Logf("run with a host directory as cwd: refused: %s", strings.TrimSpace(stderr))
	}
	out, stderr, code = e.runWithFiles([]*os.File{dir}, "exec", "--preserve-fds", "1", "--cwd", "/proc/self/fd/3", id, "sh", "-c", cveCwdScript)
	if code == 0 {
		t.Errorf("exec with a host directory as cwd succeeded: %s", out)
	} else {
		t.Logf("exec with a host directory as cwd: refused: %s", strings.TrimSpace(stderr))
	}
	cveUnchanged(t, host, snap)
}

// cveOpenFDs parses `ls -l /proc/self/fd` and returns the descriptors
// open in the process, without the one ls opened to read the directory.
func cveOpenFDs(t *testing.T, out string) []string {
	t.Helper()
	var fds []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		for i := 1; i+1 < len(f); i++ {
			if f[i] != "->" {
				continue
			}
			if strings.HasPrefix(f[i+1], "/proc/") && strings.HasSuffix(f[i+1], "/fd") {
				break // ls's own
			}
			fds = append(fds, f[i-1]+"->"+f[i+1])
		}
	}
	return fds
}

// cveCheckFDs fails unless fds are exactly 0 .. n-1.
func cveCheckFDs(t *testing.T, what string, fds []string, n int) {
	t.Helper()
	ok := len(fds) == n
	for i := 0; ok && i < n; i++ {
		ok = strings.HasPrefix(fds[i], strconv.Itoa(i)+"->")
	}
	if !ok {
		t.Errorf("%s: open descriptors %v, want exactly 0..%d", what, fds, n-1)
	}
}

// TestCVE_2024_21626_NoLeakedFds: the root of CVE-2024-21626 was a
// descriptor of a host directory open in the container's process. A
// container's process (run, and exec) must see only stdin, stdout and
// stderr, plus exactly the descriptors passed with --preserve-fds.
func TestCVE_2024_21626_NoLeakedFds(t *testing.T) {
	e := newEnv(t)
	out, stderr, code := e.runContainer(newBundle(t, "ls", "-l", "/proc/self/fd"))
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	cveCheckFDs(t, "run", cveOpenFDs(t, out), 3)

	extra := []*os.File{tempFile(t), tempFile(t)}
	defer extra[0].Close()
	defer extra[1].Close()
	b := newBundle(t, "ls", "-l", "/proc/self/fd")
	out, stderr, code = e.runWithFiles(extra, "run", "--preserve-fds", "2", "--bundle", b.save(t), e.id())
	if code != 0 {
		t.Fatalf("run --preserve-fds 2: exit %d: %s", code, stderr)
	}
	cveCheckFDs(t, "run --preserve-fds 2", cveOpenFDs(t, out), 5)

	id, _ := e.cveStart(newBundle(t, "sleep", "1000"))
	out = e.mustRun("exec", id, "ls", "-l", "/proc/self/fd")
	cveCheckFDs(t, "exec", cveOpenFDs(t, out), 3)
	out, stderr, code = e.runWithFiles(extra[:1], "exec", "--preserve-fds", "1", id, "ls", "-l", "/proc/self/fd")
	if code != 0 {
		t.Fatalf("exec --preserve-fds 1: exit %d: %s", code, stderr)
	}
	cveCheckFDs(t, "exec --preserve-fds 1", cveOpenFDs(t, out), 4)
}

// cveMountedAt is a container check that dest is a mount point in the
// container (its mountinfo names it), so the mount landed in the rootfs.
func cveMountedAt(dest string) string {
	return fmt.Sprintf("grep -q ' %s ' /proc/self/mountinfo && echo 'MOUNTED %s'\n", dest, dest)
}

// TestCVE_2021_30465_SymlinkMountDestination: CVE-2021-30465 made runc
// mount outside the rootfs by giving a mount destination that is (or
// goes through) a symlink to a host path. Destinations that are symlinks
// to an absolute host-looking path, climb with ../../.., or go through a
// link to / are resolved inside the rootfs: the mounts land there (once
// the in-rootfs twin of the host path exists; before that, creation may
// fail, as with runc), and the host directory is untouched.
func TestCVE_2021_30465_SymlinkMountDestination(t *testing.T) {
	for _, twin := range []bool{false, true} {
		name := "dangling"
		if twin {
			name = "twin"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			host, snap := cveHostDir(t)
			src := t.TempDir()
			cveWrite(t, filepath.Join(src, "from-source"), "bound\n", 0o644)
			srcFile := filepath.Join(src, "from-source")

			b := newBundle(t)
			rootfs := b.privateRootfs(t)
			cveSymlink(t, host, filepath.Join(rootfs, "evil-abs"))
			cveSymlink(t, strings.Repeat("../", 12)+strings.TrimPrefix(host, "/"), filepath.Join(rootfs, "evil-rel"))
			cveSymlink(t, "/", filepath.Join(rootfs, "evil-root"))
			cveSymlink(t, filepath.Join(host, "victim"), filepath.Join(rootfs, "evil-file"))
			if twin {
				if err := os.MkdirAll(filepath.Join(rootfs, host), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			tmpfs := func(dest string) specs.Mount {
				return specs.Mount{Destination: dest, Type: "tmpfs", Source: "tmpfs"}
			}
			b.Spec.Mounts = append(b.Spec.Mounts,
				tmpfs("/evil-abs/a"),
				tmpfs("/evil-rel/b"),
				specs.Mount{Destination: "/evil-root" + host + "/c", Type: "bind", Source: src, Options: []string{"bind"}},
				specs.Mount{Destination: "/evil-file", Type: "bind", Source: srcFile, Options: []string{"bind"}},
			)
			script := "set -e\necho x > /evil-abs/a/w\necho y > /evil-rel/b/w\n" +
				cveMountedAt(host+"/a") + cveMountedAt(host+"/b") + cveMountedAt(host+"/c") + cveMountedAt("/evil-file") +
				"cat /evil-root" + host + "/c/from-source\ncat " + host + "/a/w " + host + "/b/w\necho \"file: $(cat /evil-file)\"\n"
			b.Spec.Process.Args = []string{"sh", "-c", script}
			out, stderr, code := e.runContainer(b)
			if twin {
				if code != 0 {
					t.Fatalf("exit %d: %s%s", code, stderr, out)
				}
				for _, want := range []string{"MOUNTED " + host + "/a", "MOUNTED " + host + "/b", "MOUNTED " + host + "/c", "MOUNTED /evil-file", "bound", "x\ny\n", "file: bound"} {
					if !strings.Contains(out, want) {
						t.Errorf("output lacks %q: %s", want, out)
					}
				}
			} else if code != 0 {
				t.Logf("refused (exit %d): %s", code, strings.TrimSpace(stderr))
			}
			cveUnchanged(t, host, snap)
		})
	}
}

// TestCVE_2024_45310_RacingSymlinkSwap: CVE-2021-30465's exploit (and
// CVE-2024-45310, which made runc create files and directories on the
// host) raced the runtime: a container sharing a volume with a second
// container kept swapping a directory of the volume with a symlink while
// the second container was created with a mount below that path. Here an
// attacker container swaps /vol/x between a directory and symlinks to a
// host directory (absolute, and climbing with ..) while 30 containers
// are created with tmpfs mounts under /vol/x. The mounts may fail or land
// in the volume or the victim's rootfs, but the host directory must stay
// untouched.
func TestCVE_2024_45310_RacingSymlinkSwap(t *testing.T) {
	e := newEnv(t)
	host, snap := cveHostDir(t)
	vol := t.TempDir()
	climb := strings.Repeat("../", 12) + strings.TrimPrefix(host, "/")
	attacker := newBundle(t, "sh", "-c", fmt.Sprintf(`
while [ ! -e /vol/stop ]; do
	rm -rf /vol/x; mkdir /vol/x
	rm -rf /vol/x; ln -s %s /vol/x
	rm -f /vol/x; ln -s %s /vol/x
done
touch /vol/stopped
sleep 1000`, host, climb))
	bind := specs.Mount{Destination: "/vol", Type: "bind", Source: vol, Options: []string{"rbind"}}
	attacker.Spec.Mounts = append(attacker.Spec.Mounts, bind)
	aid, _ := e.cveStart(attacker)

	victim := newBundle(t, "true")
	rootfs := victim.privateRootfs(t)
	// The symlinks resolve inside the victim's rootfs too, so its mounts
	// go on through every form of /vol/x.
	if err := os.MkdirAll(filepath.Join(rootfs, host), 0o755); err != nil {
		t.Fatal(err)
	}
	victim.Spec.Mounts = append(victim.Spec.Mounts, bind,
		specs.Mount{Destination: "/vol/x/sub", Type: "tmpfs", Source: "tmpfs"},
		specs.Mount{Destination: "/vol/x/deep/er", Type: "tmpfs", Source: "tmpfs"},
	)
	dir := victim.save(t)
	created := 0
	for i := 0; i < 30; i++ {
		id := e.id()
		if _, _, code := e.run("create", "--bundle", dir, id); code == 0 {
			created++
			e.mustRun("delete", "--force", id)
		}
	}
	cveWrite(t, filepath.Join(vol, "stop"), "", 0o644)
	if !cveWaitFor(t, filepath.Join(vol, "stopped"), 10*time.Second) {
		t.Error("attacker did not stop")
	}
	e.mustRun("delete", "--force", aid)
	_, inRoot := os.Stat(filepath.Join(rootfs, host, "sub"))
	t.Logf("%d of 30 creates succeeded; a mount went through a symlink into the rootfs: %v", created, inRoot == nil)
	cveUnchanged(t, host, snap)
}

// cveMaskedFiles lists, in the container, the masked files of the default
// config that exist, as "<path> <type> <major>:<minor>" (hexadecimal).
const cveMaskedFiles = `for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/latency_stats /proc/timer_stats; do
	[ -e $f ] && stat -c "%n %F %t:%T" $f
done
stat -c "%n %F %t:%T" /dev/null
`

// TestCVE_2025_31133_DevNullSymlink: in CVE-2025-31133 the image's
// /dev/null was a symlink to /proc/sys/kernel/core_pattern; runc bound
// "/dev/null" over the masked paths, so they became writable handles on
// the host's core_pattern. With /dev not a tmpfs (the image's /dev is
// used), a /dev/null that is a symlink (to core_pattern, or to a file in
// a host directory), a regular file, or on a /dev bound from a test
// directory must either make creation fail with an error naming /dev/null
// or be replaced by the real device, so every masked file is the null
// device. The host's core_pattern (only ever read here) and the host
// directory are unchanged.
func TestCVE_2025_31133_DevNullSymlink(t *testing.T) {
	corePattern := func() string {
		b, err := os.ReadFile("/proc/sys/kernel/core_pattern")
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	pattern := corePattern()
	cases := []struct {
		name string
		// setup prepares the rootfs (and, for a bound /dev, the bundle).
		setup func(t *testing.T, b *bundle, rootfs, host string)
		// write makes the container write to the masked files: only where
		// the file a failed defence would expose is the test's own.
		write bool
	}{
		{"symlink-core_pattern", func(t *testing.T, b *bundle, rootfs, host string) {
			cveSymlink(t, "/proc/sys/kernel/core_pattern", filepath.Join(rootfs, "dev/null"))
		}, false},
		{"symlink-host-file", func(t *testing.T, b *bundle, rootfs, host string) {
			cveSymlink(t, filepath.Join(host, "victim"), filepath.Join(rootfs, "dev/null"))
		}, true},
		{"regular-file", func(t *testing.T, b *bundle, rootfs, host string) {
			cveWrite(t, filepath.Join(rootfs, "dev/null"), "not a device\n", 0o666)
		}, true},
		{"bound-dev-symlink-core_pattern", func(t *testing.T, b *bundle, rootfs, host string) {
			dev := t.TempDir()
			cveSymlink(t, "/proc/sys/kernel/core_pattern", filepath.Join(dev, "null"))
			b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/dev", Type: "bind", Source: dev, Options: []string{"rbind"}})
		}, false},
		{"bound-dev-symlink-host-file", func(t *testing.T, b *bundle, rootfs, host string) {
			dev := t.TempDir()
			cveSymlink(t, filepath.Join(host, "victim"), filepath.Join(dev, "null"))
			b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/dev", Type: "bind", Source: dev, Options: []string{"rbind"}})
		}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			host, snap := cveHostDir(t)
			b := newBundle(t)
			rootfs := b.privateRootfs(t)
			b.cveDropMount("/dev")
			// The bound /dev must come before the mounts below it.
			var rest []specs.Mount
			for _, m := range b.Spec.Mounts {
				if strings.HasPrefix(m.Destination, "/dev/") {
					rest = append(rest, m)
				}
			}
			for _, m := range rest {
				b.cveDropMount(m.Destination)
			}
			c.setup(t, b, rootfs, host)
			b.Spec.Mounts = append(b.Spec.Mounts, rest...)
			script := cveMaskedFiles
			if c.write {
				script += "for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /dev/null; do echo pwned > $f; done 2>/dev/null\n"
			}
			b.Spec.Process.Args = []string{"sh", "-c", script + "true"}
			out, stderr, code := e.runContainer(b)
			if code != 0 {
				if !strings.Contains(stderr, "/dev/null") {
					t.Errorf("creation failed without naming /dev/null (exit %d): %s", code, stderr)
				}
				t.Logf("refused: %s", strings.TrimSpace(stderr))
			} else {
				ls := cveLines(out)
				if len(ls) < 2 {
					t.Errorf("no masked files listed: %q", out)
				}
				for _, l := range ls {
					if !strings.HasSuffix(l, " character special file 1:3") {
						t.Errorf("not the null device: %s", l)
					}
				}
			}
			cveUnchanged(t, host, snap)
			if got := corePattern(); got != pattern {
				t.Fatalf("host core_pattern changed: %q, was %q", got, pattern)
			}
		})
	}
}

// cveConsole listens on a console socket and hands over the terminal
// master a runtime sends to it.
func cveConsole(t *testing.T) (string, <-chan *os.File) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ch := make(chan *os.File, 1)
	go func() {
		defer close(ch)
		conn, err := l.AcceptUnix()
		if err != nil {
			return
		}
		defer conn.Close()
		f, err := conn.File()
		if err != nil {
			return
		}
		defer f.Close()
		if m, err := console.RecvFD(f); err == nil {
			ch <- m
		}
	}()
	return path, ch
}

// cveReadAll reads the terminal master until the process has gone or the
// timeout passed.
func cveReadAll(master *os.File, timeout time.Duration) string {
	done := make(chan string, 1)
	go func() {
		var b strings.Builder
		_, _ = io.Copy(&b, master) // ends with EIO when the last slave closes
		done <- b.String()
	}()
	select {
	case s := <-done:
		return s
	case <-time.After(timeout):
		master.Close()
		return <-done
	}
}

// cveBoundDev binds a test directory as the container's /dev (before the
// mounts below /dev), holding a real null device so masking works, and
// returns the directory.
func (b *bundle) cveBoundDev(t *testing.T) string {
	t.Helper()
	dev := t.TempDir()
	if err := unix.Mknod(filepath.Join(dev, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatal(err)
	}
	b.cveDevMount(specs.Mount{Destination: "/dev", Type: "bind", Source: dev, Options: []string{"rbind"}})
	return dev
}

// cveDevMount puts m before the mounts below /dev (and drops any /dev
// tmpfs), so it is mounted first.
func (b *bundle) cveDevMount(m specs.Mount) {
	var before, below []specs.Mount
	for _, o := range b.Spec.Mounts {
		switch {
		case o.Destination == "/dev":
		case strings.HasPrefix(o.Destination, "/dev/"):
			below = append(below, o)
		default:
			before = append(before, o)
		}
	}
	b.Spec.Mounts = append(append(before, m), below...)
}

// TestCVE_2025_52565_ConsoleSymlink: in CVE-2025-52565 runc bound the
// container's terminal onto /dev/console by path, and an image whose
// /dev/console (or /dev/pts/N) was a symlink redirected that bind mount to
// a host file. With the image's own /dev (no tmpfs) holding such links,
// or a /dev bound from a test directory, /dev/console must be the
// terminal (the same inode as the process's stdin) and the linked host
// file untouched. A real console device in a bound /dev (the host's own
// /dev, say) is mounted over, never removed or replaced.
func TestCVE_2025_52565_ConsoleSymlink(t *testing.T) {
	// boundDev is the /dev of the last case, checked after its container.
	var boundDev string
	cases := []struct {
		name  string
		setup func(t *testing.T, b *bundle, rootfs, host string)
		// check, if set, runs on the host after the container.
		check func(t *testing.T)
	}{
		{name: "dev-console", setup: func(t *testing.T, b *bundle, rootfs, host string) {
			cveSymlink(t, filepath.Join(host, "victim"), filepath.Join(rootfs, "dev/console"))
		}},
		{name: "dev-pts-n", setup: func(t *testing.T, b *bundle, rootfs, host string) {
			for n := 0; n < 10; n++ {
				cveSymlink(t, filepath.Join(host, "victim"), filepath.Join(rootfs, "dev/pts", strconv.Itoa(n)))
			}
			cveSymlink(t, filepath.Join(host, "victim"), filepath.Join(rootfs, "dev/console"))
		}},
		{name: "dev-pts-dir", setup: func(t *testing.T, b *bundle, rootfs, host string) {
			// /dev/pts itself links to the host directory; its in-rootfs
			// twin exists, so devpts is mounted there.
			cveSymlink(t, host, filepath.Join(rootfs, "dev/pts"))
			if err := os.MkdirAll(filepath.Join(rootfs, host), 0o755); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "bound-dev-console-symlink", setup: func(t *testing.T, b *bundle, rootfs, host string) {
			dev := b.cveBoundDev(t)
			cveSymlink(t, filepath.Join(host, "victim"), filepath.Join(dev, "console"))
		}},
		{name: "bound-dev-console-device", setup: func(t *testing.T, b *bundle, rootfs, host string) {
			boundDev = b.cveBoundDev(t)
			if err := unix.Mknod(filepath.Join(boundDev, "console"), unix.S_IFCHR|0o600, int(unix.Mkdev(5, 1))); err != nil {
				t.Fatal(err)
			}
		}, check: func(t *testing.T) {
			var st unix.Stat_t
			if err := unix.Lstat(filepath.Join(boundDev, "console"), &st); err != nil {
				t.Fatalf("the bound /dev lost its console: %v", err)
			}
			if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(5, 1) {
				t.Errorf("the bound /dev's console was replaced: mode %#o, rdev %d:%d", st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev))
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			host, snap := cveHostDir(t)
			b := newBundle(t, "sh", "-c", `stat -c "%n %F %t" /dev/console
[ /dev/console -ef /proc/self/fd/0 ] && echo CONSOLE-IS-TERMINAL
echo pwned > /dev/console`)
			rootfs := b.privateRootfs(t)
			b.cveDropMount("/dev")
			b.Spec.Process.Terminal = true
			c.setup(t, b, rootfs, host)
			sock, masters := cveConsole(t)
			id := e.id()
			if _, stderr, code := e.run("create", "--console-socket", sock, "--bundle", b.save(t), id); code != 0 {
				t.Logf("refused (exit %d): %s", code, strings.TrimSpace(stderr))
				cveUnchanged(t, host, snap)
				return
			}
			var master *os.File
			select {
			case master = <-masters:
			case <-time.After(5 * time.Second):
				t.Fatal("no terminal received on the console socket")
			}
			defer master.Close()
			e.mustRun("start", id)
			out := cveReadAll(master, 10*time.Second)
			e.waitStatus(id, "stopped")
			e.mustRun("delete", id)
			if !strings.Contains(out, "/dev/console character special file 88") {
				t.Errorf("/dev/console is not a pty (major 136): %q", out)
			}
			if !strings.Contains(out, "CONSOLE-IS-TERMINAL") || !strings.Contains(out, "pwned") {
				t.Errorf("/dev/console is not the container's terminal: %q", out)
			}
			cveUnchanged(t, host, snap)
			if c.check != nil {
				c.check(t)
			}
		})
	}
}

// cveNsenterRead reads a file from the host's /proc in the given
// namespaces of pid (nsenter -<flag>): /proc/sys/net and IPC sysctls show
// the namespace of the reader, whatever hides them in the container.
func cveNsenterRead(t *testing.T, pid int, flag, path string) string {
	t.Helper()
	if _, err := exec.LookPath("nsenter"); err != nil {
		t.Skip("nsenter (util-linux) is needed")
	}
	out, err := exec.Command("nsenter", "-t", strconv.Itoa(pid), flag, "cat", path).CombinedOutput()
	if err != nil {
		t.Fatalf("nsenter %s cat %s: %v: %s", flag, path, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestCVE_2025_52881_SysctlOvermount: in CVE-2025-52881 a config (or a
// racing container) put a mount over a /proc/sys file, and runc's
// sysctl write, made through the container's /proc, went to whatever was
// mounted there (a host file, or a sysctl that is not namespaced). Here a
// bind of a test file or a tmpfs covers /proc/sys/net, /proc/sys/kernel
// files or all of /proc/sys, and linux.sysctl sets a value there: the
// covering file must stay untouched, and the value, if creation succeeds,
// must be in the container's real procfs (read from the host inside the
// container's namespaces).
func TestCVE_2025_52881_SysctlOvermount(t *testing.T) {
	cases := []struct {
		name, dest        string
		file              bool // bind a host file rather than a tmpfs
		key, value        string
		nsFlag, procsPath string
	}{
		{"bind-file-over-net", "/proc/sys/net/ipv4/ip_forward", true, "net.ipv4.ip_forward", "1", "-n", "/proc/sys/net/ipv4/ip_forward"},
		{"tmpfs-over-net", "/proc/sys/net", false, "net.ipv4.ip_forward", "1", "-n", "/proc/sys/net/ipv4/ip_forward"},
		{"bind-file-over-kernel", "/proc/sys/kernel/shmmax", true, "kernel.shmmax", "12345678", "-i", "/proc/sys/kernel/shmmax"},
		{"tmpfs-over-sys", "/proc/sys", false, "kernel.shmmni", "1234", "-i", "/proc/sys/kernel/shmmni"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			host, snap := cveHostDir(t)
			b := newBundle(t, "sleep", "1000")
			m := specs.Mount{Destination: c.dest, Type: "tmpfs", Source: "tmpfs"}
			if c.file {
				m = specs.Mount{Destination: c.dest, Type: "bind", Source: filepath.Join(host, "victim"), Options: []string{"bind"}}
			}
			b.Spec.Mounts = append(b.Spec.Mounts, m)
			b.Spec.Linux.Sysctl = map[string]string{c.key: c.value}
			id := e.id()
			_, stderr, code := e.run("create", "--bundle", b.save(t), id)
			if code != 0 {
				if !strings.Contains(stderr, c.key) && !strings.Contains(stderr, "/proc") {
					t.Errorf("creation failed without naming the sysctl or /proc (exit %d): %s", code, stderr)
				}
				t.Logf("refused: %s", strings.TrimSpace(stderr))
			} else {
				pid := int(e.state(id)["pid"].(float64))
				if got := cveNsenterRead(t, pid, c.nsFlag, c.procsPath); got != c.value {
					t.Errorf("%s in the container's namespace is %q, want %q", c.key, got, c.value)
				}
				e.mustRun("delete", "--force", id)
			}
			cveUnchanged(t, host, snap)
		})
	}
}

// TestHostileBundleMountDestination: a bundle's mount destinations are
// paths in the container, however they are spelt: a relative destination
// climbing with ../../.., an absolute one with .. in it, and one through
// a symlink to / in the image must all stay in the rootfs (or be refused).
func TestHostileBundleMountDestination(t *testing.T) {
	e := newEnv(t)
	host, snap := cveHostDir(t)
	b := newBundle(t)
	rootfs := b.privateRootfs(t)
	cveSymlink(t, "/", filepath.Join(rootfs, "escape"))
	rel := strings.TrimPrefix(host, "/")
	dests := []string{
		strings.Repeat("../", 12) + rel + "/xyz",
		strings.Repeat("/..", 12) + host + "/abs-dotdot",
		"/escape" + host + "/via-root-link",
		"/escape/../escape/.." + host + "/mixed",
	}
	script := ""
	for _, d := range dests {
		b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: d, Type: "tmpfs", Source: "tmpfs"})
		script += cveMountedAt(host + "/" + filepath.Base(d))
	}
	b.Spec.Process.Args = []string{"sh", "-c", script + "true"}
	out, stderr, code := e.runContainer(b)
	if code != 0 {
		t.Logf("refused (exit %d): %s", code, strings.TrimSpace(stderr))
	} else {
		for _, d := range dests {
			if !strings.Contains(out, "MOUNTED "+host+"/"+filepath.Base(d)) {
				t.Errorf("mount for destination %q is not at %s/%s in the container: %s", d, host, filepath.Base(d), out)
			}
		}
	}
	cveUnchanged(t, host, snap)
}

// TestHostileContainerIDs: a container id names a directory under the
// state root and a cgroup, so ids that are paths ("../x", "a/b") or
// otherwise invalid are refused before anything is made, and an id in use
// is refused without disturbing its container. (The full id matrix is in
// the CLI tests.)
func TestHostileContainerIDs(t *testing.T) {
	e := newEnv(t)
	dir := newBundle(t, "true").save(t)
	escaped := filepath.Join(filepath.Dir(e.root), "cve-escape")
	rootSnap := cveSnapshot(t, e.root)
	for _, id := range []string{"../cve-escape", "a/b", "..", ".", "", "x y", "/abs", "a\nb", strings.Repeat("a", 300)} {
		if _, _, code := e.run("create", "--bundle", dir, id); code == 0 {
			t.Errorf("create with id %q succeeded", id)
			e.run("delete", "--force", id)
		}
		if !strings.ContainsAny(id, "/\n") && id != "" && id != "." && id != ".." {
			cgroupGone(t, id)
		}
	}
	cveUnchanged(t, e.root, rootSnap)
	for _, p := range []string{escaped, "/sys/fs/cgroup/cve-escape"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("id ../cve-escape made %s", p)
		}
	}

	id := e.id()
	e.mustRun("create", "--bundle", dir, id)
	pid := e.state(id)["pid"]
	_, stderr, code := e.run("create", "--bundle", dir, id)
	if code == 0 || !strings.Contains(stderr, "exist") {
		t.Errorf("second create with id %s: exit %d, stderr %q", id, code, stderr)
	}
	if st := e.state(id); st["status"] != "created" || st["pid"] != pid {
		t.Errorf("first container disturbed: %v", st)
	}
	e.mustRun("delete", id)
	cgroupGone(t, id)
}
