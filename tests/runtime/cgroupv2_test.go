package runtime_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCgroupV2Host runs a container as on a pure cgroup v2 host: in a
// private mount namespace the cgroup v1 mounts are dropped and the unified
// hierarchy (the host's /sys/fs/cgroup/unified) is mounted at
// /sys/fs/cgroup. The runtime must detect v2, put the container in
// /sys/fs/cgroup/berth/<id> of that hierarchy, give it a cgroup
// namespace rooted there and a fresh cgroup2 mount, and remove the cgroup
// on delete. Controllers (all bound to v1 here) are the guest harness's
// job; this covers the v2 code paths this host can run.
func TestCgroupV2Host(t *testing.T) {
	e := newEnv(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare(1) is needed")
	}
	id := e.id()
	b := newBundle(t, "sh", "-c", "cat /proc/self/cgroup; grep ' /sys/fs/cgroup ' /proc/self/mounts; "+
		"test -f /sys/fs/cgroup/cgroup.controllers && echo v2-root-ok")
	dir := b.save(t)
	script := `umount -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && exec "$@"`
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
		binary, "--root", e.root, "run", "--bundle", dir, id)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run on a v2 view: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{"0::/\n", "cgroup2 ro,", "v2-root-ok"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	// The same hierarchy is the host's /sys/fs/cgroup/unified.
	if m, _ := filepath.Glob("/sys/fs/cgroup/unified/berth/" + id); len(m) > 0 {
		t.Errorf("cgroup left behind: %v", m)
	}
	cgroupGone(t, id)
}
