package runtime_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// probeSource is a static program that makes one system call per argument
// and prints `name=0` on success or `name=errno` on failure, so a test can
// tell which calls the container's seccomp filter lets through.
const probeSource = `
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/reboot.h>

static long call(const char *name, unsigned long arg, unsigned long arg1) {
	if (!strcmp(name, "mount")) return mount("none", "/dev/shm", "tmpfs", 0, NULL);
	if (!strcmp(name, "init_module")) return syscall(SYS_init_module, NULL, 0UL, "");
	if (!strcmp(name, "finit_module")) return syscall(SYS_finit_module, -1, "", 0);
	if (!strcmp(name, "keyctl")) return syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0);
	if (!strcmp(name, "unshare_user")) return unshare(CLONE_NEWUSER);
	if (!strcmp(name, "reboot")) return syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF, NULL);
	if (!strcmp(name, "personality")) return syscall(SYS_personality, arg, arg1, 0UL, 0UL, 0UL, 0UL);
	if (!strcmp(name, "getpid")) return syscall(SYS_getpid);
	errno = EINVAL;
	return -1;
}

int main(int argc, char **argv) {
	for (int i = 1; i < argc; i++) {
		char name[64];
		unsigned long arg = 0, arg1 = 0;
		char *colon = strchr(argv[i], ':'), *end = NULL;
		snprintf(name, sizeof name, "%.*s", colon ? (int)(colon - argv[i]) : (int)strlen(argv[i]), argv[i]);
		if (colon) arg = strtoul(colon + 1, &end, 0);
		if (end && *end == ':') arg1 = strtoul(end + 1, NULL, 0);
		errno = 0;
		long r = call(name, arg, arg1);
		printf("%s=%d\n", argv[i], r == -1 ? errno : 0);
	}
	return 0;
}
`

// probeBundle returns a bundle with its own rootfs holding /bin/probe,
// running probe with args.
func probeBundle(t *testing.T, args ...string) *bundle {
	t.Helper()
	src := filepath.Join(t.TempDir(), "probe.c")
	if err := os.WriteFile(src, []byte(probeSource), 0o644); err != nil {
		t.Fatal(err)
	}
	b := newBundle(t, append([]string{"/bin/probe"}, args...)...)
	root := b.privateRootfs(t)
	out, err := exec.Command("gcc", "-static", "-O1", "-o", filepath.Join(root, "bin", "probe"), src).CombinedOutput()
	if err != nil {
		t.Fatalf("build the probe (gcc from build-essential): %v: %s", err, out)
	}
	return b
}

// probeResults parses the probe's output into name → errno (0: success).
func probeResults(t *testing.T, out string) map[string]int {
	t.Helper()
	res := map[string]int{}
	for _, line := range strings.Fields(out) {
		var errno int
		name, val, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("probe output %q", out)
		}
		if _, err := fmt.Sscan(val, &errno); err != nil {
			t.Fatalf("probe output %q: %v", out, err)
		}
		res[name] = errno
	}
	return res
}

func uintp(v uint) *uint { return &v }

// TestSeccompDefaultProfile: a default-spec container cannot mount, load a
// module, use keyrings, create a user namespace or reboot; without the
// profile (same capabilities) keyctl and unshare work, so it is the filter
// that refuses them.
func TestSeccompDefaultProfile(t *testing.T) {
	e := newEnv(t)
	calls := []string{"mount", "init_module", "finit_module", "keyctl", "unshare_user", "reboot", "getpid"}
	b := probeBundle(t, calls...)
	if b.Spec.Linux.Seccomp == nil || b.Spec.Linux.Seccomp.DefaultAction != specs.ActErrno {
		t.Fatalf("the default spec has no default-deny seccomp profile: %+v", b.Spec.Linux.Seccomp)
	}
	out, stderr, code := e.runContainer(b)
	if code != 0 {
		t.Fatalf("run: exit %d: %s%s", code, stderr, out)
	}
	res := probeResults(t, out)
	for _, c := range calls[:len(calls)-1] {
		if res[c] != int(unixEPERM) {
			t.Errorf("%s in a default container: errno %d, want EPERM (%d); output %q", c, res[c], unixEPERM, out)
		}
	}
	if res["getpid"] != 0 {
		t.Errorf("getpid is refused: %q", out)
	}

	// The same container without a profile: keyctl and unshare(CLONE_NEWUSER)
	// need no capability, so only the filter stopped them.
	b2 := probeBundle(t, "keyctl", "unshare_user", "mount")
	b2.Spec.Linux.Seccomp = nil
	out, stderr, code = e.runContainer(b2)
	if code != 0 {
		t.Fatalf("run without seccomp: exit %d: %s%s", code, stderr, out)
	}
	res = probeResults(t, out)
	if res["keyctl"] != 0 || res["unshare_user"] != 0 {
		t.Errorf("without seccomp keyctl/unshare fail (%q): the test does not show the filter's effect", out)
	}
	if res["mount"] == 0 {
		t.Errorf("mount works without CAP_SYS_ADMIN: %q", out)
	}
}

const unixEPERM = 1

// TestSeccompErrnoRet: a rule's errnoRet is the errno the call fails with,
// and busybox reports it.
func TestSeccompErrnoRet(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "mkdir", "/dev/shm/x")
	b.Spec.Linux.Seccomp = &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: uintp(18)}, // EXDEV
		},
	}
	out, stderr, code := e.runContainer(b)
	if code == 0 || !strings.Contains(stderr+out, "cross-device link") {
		t.Fatalf("mkdir under an EXDEV rule: exit %d, output %q %q; want busybox's EXDEV message", code, out, stderr)
	}

	// Without errnoRet an errno rule fails with EPERM; defaultErrnoRet sets
	// the default action's errno.
	b = newBundle(t, "mkdir", "/dev/shm/x")
	b.Spec.Linux.Seccomp = &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno}},
	}
	out, stderr, code = e.runContainer(b)
	if code == 0 || !strings.Contains(stderr+out, "Operation not permitted") {
		t.Fatalf("mkdir under an errno rule: exit %d, output %q %q; want EPERM", code, out, stderr)
	}
}

// TestSeccompArgs: argument conditions select which calls a rule refuses,
// for each operator.
func TestSeccompArgs(t *testing.T) {
	e := newEnv(t)
	rule := func(errno uint, args ...specs.LinuxSeccompArg) specs.LinuxSyscall {
		return specs.LinuxSyscall{Names: []string{"personality"}, Action: specs.ActErrno, ErrnoRet: uintp(errno), Args: args}
	}
	arg := func(op specs.LinuxSeccompOperator, v, v2 uint64) specs.LinuxSeccompArg {
		return specs.LinuxSeccompArg{Index: 0, Value: v, ValueTwo: v2, Op: op}
	}
	and := func(a0 uint64, a1 specs.LinuxSeccompArg) []specs.LinuxSeccompArg {
		a1.Index = 1
		return []specs.LinuxSeccompArg{arg(specs.OpEqualTo, a0, 0), a1}
	}
	// Each rule matches one value of personality's first argument, and an
	// operator on its second (which personality ignores); each refuses with
	// its own errno.
	b := probeBundle(t, "personality:0",
		"personality:0x8", "personality:0x9",
		"personality:0x400", "personality:0x500",
		"personality:0x20:101", "personality:0x20:100",
		"personality:0x21:100", "personality:0x21:99",
		"personality:0x22:4", "personality:0x22:5",
		"personality:0x23:5", "personality:0x23:6",
		"personality:0x24:8", "personality:0x24:7",
		"personality:0x25:0x3f", "personality:0x25:0x4f")
	b.Spec.Linux.Seccomp = &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			rule(11, arg(specs.OpEqualTo, 0x8, 0)),
			rule(12, arg(specs.OpMaskedEqual, 0xff00, 0x400)),
			rule(13, and(0x20, arg(specs.OpGreaterThan, 100, 0))...),
			rule(14, and(0x21, arg(specs.OpGreaterEqual, 100, 0))...),
			rule(15, and(0x22, arg(specs.OpLessThan, 5, 0))...),
			rule(16, and(0x23, arg(specs.OpLessEqual, 5, 0))...),
			rule(17, and(0x24, arg(specs.OpNotEqual, 7, 0))...),
			rule(18, and(0x25, arg(specs.OpMaskedEqual, 0xf0, 0x30))...),
		},
	}
	out, stderr, code := e.runContainer(b)
	if code != 0 {
		t.Fatalf("run: exit %d: %s%s", code, stderr, out)
	}
	res := probeResults(t, out)
	for call, want := range map[string]int{
		"personality:0":   0,
		"personality:0x8": 11, "personality:0x9": 0,
		"personality:0x400": 12, "personality:0x500": 0,
		"personality:0x20:101": 13, "personality:0x20:100": 0,
		"personality:0x21:100": 14, "personality:0x21:99": 0,
		"personality:0x22:4": 15, "personality:0x22:5": 0,
		"personality:0x23:5": 16, "personality:0x23:6": 0,
		"personality:0x24:8": 17, "personality:0x24:7": 0,
		"personality:0x25:0x3f": 18, "personality:0x25:0x4f": 0,
	} {
		if got, ok := res[call]; !ok || got != want {
			t.Errorf("%s: errno %d, want %d (output %q)", call, got, want, out)
		}
	}

	// Allow personality(0) only, as Docker's profile does for its values.
	b = probeBundle(t, "personality:0", "personality:0x8", "getpid")
	b.Spec.Linux.Seccomp = &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"personality"}, Action: specs.ActErrno, ErrnoRet: uintp(1), Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0, Op: specs.OpNotEqual}}},
		},
	}
	out, stderr, code = e.runContainer(b)
	if code != 0 {
		t.Fatalf("run: exit %d: %s%s", code, stderr, out)
	}
	res = probeResults(t, out)
	if res["personality:0"] != 0 || res["personality:0x8"] != 1 || res["getpid"] != 0 {
		t.Errorf("personality(0) allowed, others EPERM: got %q", out)
	}
}

// TestSeccompUnknownSyscallIgnored: a name the host's libseccomp does not
// know is left out (as runc does); the rest of the profile applies.
func TestSeccompUnknownSyscallIgnored(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "mkdir", "/dev/shm/x")
	b.Spec.Linux.Seccomp = &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"berth_no_such_syscall", "mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: uintp(18)},
		},
	}
	out, stderr, code := e.runContainer(b)
	if code == 0 || !strings.Contains(stderr+out, "cross-device link") {
		t.Fatalf("exit %d, output %q %q; want the known names refused with EXDEV", code, out, stderr)
	}
}

// TestSeccompBadProfile: an unknown action, operator or flag, or
// SCMP_ACT_NOTIFY, fails create with an error naming the field, and leaves
// nothing behind.
func TestSeccompBadProfile(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		edit func(*specs.LinuxSeccomp)
		want string
	}{
		{"action", func(s *specs.LinuxSeccomp) {
			s.Syscalls = append(s.Syscalls, specs.LinuxSyscall{Names: []string{"mkdir"}, Action: "SCMP_ACT_FOO"})
		}, `linux.seccomp.syscalls[%d].action: unknown action "SCMP_ACT_FOO"`},
		{"default action", func(s *specs.LinuxSeccomp) { s.DefaultAction = "SCMP_ACT_BAR" },
			`linux.seccomp.defaultAction: unknown action "SCMP_ACT_BAR"`},
		{"operator", func(s *specs.LinuxSeccomp) {
			s.Syscalls = append(s.Syscalls, specs.LinuxSyscall{Names: []string{"mkdir"}, Action: specs.ActErrno,
				Args: []specs.LinuxSeccompArg{{Index: 0, Op: "SCMP_CMP_ABOUT"}}})
		}, `linux.seccomp.syscalls[%d].args[0].op: unknown operator "SCMP_CMP_ABOUT"`},
		{"notify", func(s *specs.LinuxSeccomp) {
			s.Syscalls = append(s.Syscalls, specs.LinuxSyscall{Names: []string{"mkdir"}, Action: specs.ActNotify})
		}, `linux.seccomp.syscalls[%d].action: SCMP_ACT_NOTIFY is not supported yet`},
		{"flag", func(s *specs.LinuxSeccomp) { s.Flags = []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_NOPE"} },
			`linux.seccomp.flags[0]: unknown flag "SECCOMP_FILTER_FLAG_NOPE"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBundle(t, "true")
			n := len(b.Spec.Linux.Seccomp.Syscalls)
			tc.edit(b.Spec.Linux.Seccomp)
			want := tc.want
			if strings.Contains(want, "%d") {
				want = fmt.Sprintf(want, n)
			}
			dir := b.save(t)
			id := e.id()
			_, stderr, code := e.run("create", "--bundle", dir, id)
			if code == 0 {
				t.Fatalf("create succeeded with a bad profile")
			}
			if !strings.Contains(stderr, want) {
				t.Errorf("create: stderr %q, want %q", stderr, want)
			}
			e.assertNothingLeft(id, dir)
		})
	}
}

// TestSeccompWithoutNoNewPrivileges: without noNewPrivileges the filter is
// loaded while init still holds CAP_SYS_ADMIN, and it applies.
func TestSeccompWithoutNoNewPrivileges(t *testing.T) {
	e := newEnv(t)
	b := probeBundle(t, "keyctl", "unshare_user", "getpid")
	b.Spec.Process.NoNewPrivileges = false
	b.Spec.Process.User = specs.User{UID: 1000, GID: 1000}
	out, stderr, code := e.runContainer(b)
	if code != 0 {
		t.Fatalf("run: exit %d: %s%s", code, stderr, out)
	}
	res := probeResults(t, out)
	if res["keyctl"] != unixEPERM || res["unshare_user"] != unixEPERM || res["getpid"] != 0 {
		t.Errorf("default profile without noNewPrivileges, as uid 1000: %q", out)
	}
	if st, err := os.ReadFile("/proc/self/status"); err == nil && strings.Contains(string(st), "Seccomp:\t2") {
		t.Fatal("the test process itself is filtered")
	}
}
