package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemPrune: system prune removes stopped containers (as filtered),
// with --volumes the anonymous volumes no container uses, then dangling
// (with -a: unused) images, and prints Docker's report.
func TestSystemPrune(t *testing.T) {
	e := newEnv(t).withBusybox()
	up := strings.TrimSpace(e.must("run", "-d", "--name", "up", "busybox", "sleep", "100"))
	created := strings.TrimSpace(e.must("create", "--name", "created", "busybox", "true"))
	e.must("run", "--name", "exited", "busybox", "true")
	exited := strings.TrimSpace(e.must("inspect", "-f", "{{.Id}}", "exited"))
	kept := strings.TrimSpace(e.must("create", "--name", "kept", "--label", "keep=1", "-v", "/data", "busybox", "true"))
	anon := strings.TrimSpace(e.must("inspect", "-f", "{{range .Volumes}}{{.}}{{end}}", "kept"))
	e.must("volume", "create", "named")

	// Not confirmed: nothing goes.
	out, stderr, code := e.run([]byte("n\n"), "system", "prune")
	if code != 0 || !strings.Contains(stderr, "  - all stopped containers\n") || !strings.Contains(stderr, "Are you sure you want to continue? [y/N]") {
		t.Errorf("prune not confirmed: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if got := e.must("ps", "-aq"); len(strings.Fields(got)) != 4 {
		t.Fatalf("an unconfirmed prune removed containers: %q", got)
	}

	out = e.must("system", "prune", "-f", "--filter", "label!=keep")
	for _, id := range []string{created, exited} {
		if !strings.Contains(out, id+"\n") {
			t.Errorf("prune did not report %s:\n%s", id, out)
		}
	}
	if !strings.HasPrefix(out, "Deleted Containers:\n") || !strings.Contains(out, "\nTotal reclaimed space: ") || strings.Contains(out, up) || strings.Contains(out, kept) {
		t.Errorf("system prune output:\n%s", out)
	}
	if got := strings.Fields(e.must("ps", "-aq", "--no-trunc")); len(got) != 2 {
		t.Errorf("after prune: %v, want up and kept", got)
	}
	if _, _, code := e.run(nil, "volume", "inspect", anon); code != 0 {
		t.Errorf("prune without --volumes removed volume %s", anon)
	}

	// until and --volumes do not go together, as Docker.
	e.fails(125, `"until" filter is not supported`, "system", "prune", "-f", "--volumes", "--filter", "until=1h")
	e.fails(125, "invalid filter 'bogus'", "system", "prune", "-f", "--filter", "bogus=1")

	out = e.must("system", "prune", "-f", "--volumes")
	if !strings.Contains(out, "Deleted Containers:\n"+kept+"\n") || !strings.Contains(out, "Deleted Volumes:\n"+anon+"\n") {
		t.Errorf("system prune --volumes:\n%s", out)
	}
	if _, _, code := e.run(nil, "volume", "inspect", "named"); code != 0 {
		t.Error("system prune --volumes removed a named volume")
	}
	// busybox is in use by up: kept even by -a.
	e.must("system", "prune", "-af")
	if got := e.must("images", "-q"); strings.TrimSpace(got) == "" {
		t.Error("prune -a removed an image a running container uses")
	}
	e.must("rm", "-f", up)
	out = e.must("system", "prune", "-af")
	if !strings.Contains(out, "Deleted Images:\nuntagged: busybox:latest\n") || strings.Contains(out, "Total reclaimed space: 0B") {
		t.Errorf("system prune -a:\n%s", out)
	}
	if got := e.must("images", "-q"); strings.TrimSpace(got) != "" {
		t.Errorf("images after system prune -a: %q", got)
	}
}

// TestContainerPruneFilters: container prune takes until= and label=.
func TestContainerPruneFilters(t *testing.T) {
	e := newEnv(t).withBusybox()
	a := strings.TrimSpace(e.must("create", "--label", "team=a", "busybox", "true"))
	b := strings.TrimSpace(e.must("create", "--label", "team=b", "busybox", "true"))
	// Both were made just now: not before an hour ago.
	if out := e.must("container", "prune", "-f", "--filter", "until=1h"); out != "Total reclaimed space: 0B\n" {
		t.Errorf("prune until=1h:\n%s", out)
	}
	out := e.must("container", "prune", "-f", "--filter", "label=team=a")
	if !strings.Contains(out, "Deleted Containers:\n"+a+"\n\nTotal reclaimed space:") || strings.Contains(out, b) {
		t.Errorf("prune label=team=a:\n%s", out)
	}
	out = e.must("container", "prune", "-f", "--filter", "until=2999-01-01T00:00:00Z")
	if !strings.Contains(out, b) {
		t.Errorf("prune until 2999:\n%s", out)
	}
	if got := e.must("ps", "-aq"); got != "" {
		t.Errorf("after prune: %q", got)
	}
}

// TestRmSnapshotter: --rm removes the rootfs from the snapshotter the
// container was made with, not the default one.
func TestRmSnapshotter(t *testing.T) {
	e := newEnv(t).withBusybox()
	if _, err := os.Stat(filepath.Join(e.root, "snapshots", "overlay", "metadata.db")); err != nil {
		t.Skip("the default snapshotter here is not overlay")
	}
	count := func() int {
		ents, err := os.ReadDir(filepath.Join(e.root, "snapshots", "native", "snapshots"))
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	e.must("--snapshotter", "native", "run", "--rm", "busybox", "true")
	n := count()
	e.must("--snapshotter", "native", "run", "--rm", "busybox", "true")
	id := strings.TrimSpace(e.must("--snapshotter", "native", "run", "-d", "--rm", "busybox", "true"))
	waitFor(t, func() bool { _, _, code := e.run(nil, "inspect", id); return code != 0 }, "the --rm container removed")
	if got := count(); got != n {
		t.Errorf("native snapshots: %d after the first run --rm, %d after two more", n, got)
	}
	if strings.TrimSpace(e.must("--snapshotter", "native", "ps", "-aq")) != "" {
		t.Error("containers left")
	}
}
