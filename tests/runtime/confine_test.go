package runtime_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/runtime/lsm"
)

// TestDefaultSpecConfinement: a container of the default spec (Docker's
// capabilities, seccomp profile, masked and read-only paths, rlimits)
// cannot see host processes, write /proc/sys, read /proc/kcore, mount,
// change the host's hostname or raise a rlimit past its hard limit. The
// system calls the profile forbids (keyctl, unshare of a user namespace,
// module loading) are TestSeccompDefaultProfile's.
func TestDefaultSpecConfinement(t *testing.T) {
	e := newEnv(t)
	marker := "berth-bystander-" + strconv.Itoa(os.Getpid())
	bystander := exec.Command("sh", "-c", "exec -a "+marker+" sleep 60")
	if err := bystander.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = bystander.Process.Kill()
		_ = bystander.Wait()
	})
	hostname, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	// Each probe prints NAME=ok when the container managed it.
	script := strings.Join([]string{
		`n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo procs=$n`,
		// The marker split in two, so the script's own cmdline lacks it.
		`m=berth-by; grep -l "${m}` + strings.TrimPrefix(marker, "berth-by") + `" /proc/[0-9]*/cmdline 2>/dev/null && echo seehost=ok`,
		`echo 3 > /proc/sys/vm/drop_caches 2>/dev/null && echo procsys=ok`,
		`echo kcore=$(head -c 16 /proc/kcore 2>/dev/null | wc -c)`,
		`mount -t tmpfs none /tmp 2>/dev/null && echo mount=ok`,
		`hostname evil 2>/dev/null && echo hostname=ok`,
		`echo nofile=$(ulimit -Hn)`,
		`ulimit -Hn 4096 2>/dev/null && echo rlimit=ok`,
		`true`,
	}, "\n")
	b := newBundle(t, "sh", "-c", script)
	out, stderr, code := e.runContainer(b)
	if code != 0 {
		t.Fatalf("run: exit %d: %s%s", code, stderr, out)
	}
	for _, escaped := range []string{"seehost=ok", "procsys=ok", "mount=ok", "hostname=ok", "rlimit=ok"} {
		if strings.Contains(out, escaped) {
			t.Errorf("a default container could do it: %s\n%s", escaped, out)
		}
	}
	for _, want := range []string{"kcore=0", "nofile=1024"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// sh, its subshells and the probes: a handful, never the host's.
	var procs int
	for _, f := range strings.Fields(out) {
		if v, ok := strings.CutPrefix(f, "procs="); ok {
			procs, _ = strconv.Atoi(v)
		}
	}
	if procs == 0 || procs > 5 {
		t.Errorf("the container sees %d processes:\n%s", procs, out)
	}
	if now, _ := os.Hostname(); now != hostname {
		t.Errorf("the host's hostname changed from %q to %q", hostname, now)
	}
}

// TestPersonality: linux.personality LINUX32 makes uname report a 32-bit
// machine, under the default seccomp profile (which restricts
// personality(2) to a few personas); an unknown domain is refused at
// create.
func TestPersonality(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t, "uname", "-m")
	b.Spec.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32}
	out, stderr, code := e.runContainer(b)
	if code != 0 || strings.TrimSpace(out) != "i686" {
		t.Errorf("uname -m with LINUX32: exit %d, %q %q; want i686", code, out, stderr)
	}
	b.Spec.Linux.Personality = &specs.LinuxPersonality{Domain: "LINUX64"}
	out, stderr, code = e.runContainer(b)
	if code == 0 || !strings.Contains(stderr, "linux.personality.domain") {
		t.Errorf("unknown domain: exit %d, %q %q; want an error naming linux.personality.domain", code, out, stderr)
	}
}

// TestLSMLabelsWithoutLSM: on a host without AppArmor or SELinux the
// labels are accepted and ignored, as runc does.
func TestLSMLabelsWithoutLSM(t *testing.T) {
	if h := lsm.Detect(); h.AppArmor || h.SELinux {
		t.Skipf("the host runs an LSM (%+v): the labels would be applied", h)
	}
	e := newEnv(t)
	b := newBundle(t, "sh", "-c", "grep ' /dev ' /proc/self/mounts")
	b.Spec.Process.ApparmorProfile = "docker-default"
	b.Spec.Process.SelinuxLabel = "system_u:system_r:container_t:s0:c1,c2"
	b.Spec.Linux.MountLabel = "system_u:object_r:container_file_t:s0:c1,c2"
	out, stderr, code := e.runContainer(b)
	if code != 0 || strings.Contains(out, "context=") {
		t.Errorf("run with labels: exit %d, %q %q", code, out, stderr)
	}
}

// TestIntelRdtRefused: linux.intelRdt on a host without resctrl is a
// clear error at create, and nothing is left behind.
func TestIntelRdtRefused(t *testing.T) {
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/resctrl", &st) == nil && st.Type == 0x7655821 {
		t.Skip("the host has resctrl")
	}
	e := newEnv(t)
	b := newBundle(t, "true")
	b.Spec.Linux.IntelRdt = &specs.LinuxIntelRdt{L3CacheSchema: "L3:0=ff"}
	id := e.id()
	_, stderr, code := e.run("create", "--bundle", b.save(t), id)
	if code == 0 || !strings.Contains(stderr, "linux.intelRdt") || !strings.Contains(stderr, "resctrl") {
		t.Errorf("create with intelRdt: exit %d, %q; want an error naming linux.intelRdt", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(e.root, id)); !os.IsNotExist(err) {
		t.Errorf("state directory left behind: %v", err)
	}
	cgroupGone(t, id)
	_, stderr, code = e.run("update", "--l3-cache-schema", "L3:0=ff", id)
	if code == 0 || !strings.Contains(stderr, "--l3-cache-schema") {
		t.Errorf("update --l3-cache-schema: exit %d, %q", code, stderr)
	}
}
