package runtime_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Benchmarks of the berth-runtime binary, as an engine drives it. They
// measure; they assert nothing about time. bench/runtime.sh compares the
// same operations with runc and crun.
//
//	go test ./tests/runtime -run '^$' -bench . -benchtime 50x

// benchBundle writes a bundle on the shared busybox rootfs that runs args
// without a terminal.
func benchBundle(b *testing.B, args ...string) *bundle {
	b.Helper()
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	bd := newBundle(b, args...)
	bd.save(b)
	return bd
}

// benchRuntime runs berth-runtime with a private state root. Its stdio are
// files, not pipes: a created container keeps the stdio it was given.
type benchRuntime struct {
	b      *testing.B
	root   string
	stderr *os.File
}

func newBenchRuntime(b *testing.B) *benchRuntime {
	b.Helper()
	r := &benchRuntime{b: b, root: b.TempDir()}
	f, err := os.CreateTemp(b.TempDir(), "stderr")
	if err != nil {
		b.Fatal(err)
	}
	r.stderr = f
	b.Cleanup(func() {
		// Delete whatever a failed iteration left behind.
		out, _ := exec.Command(binary, "--root", r.root, "list", "-q").Output()
		for _, id := range strings.Fields(string(out)) {
			if msg, err := exec.Command(binary, "--root", r.root, "delete", "--force", id).CombinedOutput(); err != nil {
				b.Errorf("cleanup: delete %s: %v: %s", id, err, msg)
			}
		}
		f.Close()
	})
	return r
}

// run invokes berth-runtime and fails the benchmark on a non-zero exit.
func (r *benchRuntime) run(args ...string) {
	cmd := exec.Command(binary, append([]string{"--root", r.root}, args...)...)
	cmd.Stdout, cmd.Stderr = nil, r.stderr // stdout to /dev/null
	if err := cmd.Run(); err != nil {
		msg, _ := os.ReadFile(r.stderr.Name())
		r.b.Fatalf("berth-runtime %s: %v: %s", strings.Join(args, " "), err, msg)
	}
}

// waitStopped polls until the container's process has exited.
func (r *benchRuntime) waitStopped(id string) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := exec.Command(binary, "--root", r.root, "state", id).Output()
		if err != nil {
			r.b.Fatalf("state %s: %v", id, err)
		}
		var st struct{ Status string }
		if err := json.Unmarshal(out, &st); err != nil {
			r.b.Fatalf("state %s: %v: %s", id, err, out)
		}
		if st.Status == "stopped" {
			return
		}
		if time.Now().After(deadline) {
			r.b.Fatalf("container %s: status %s, want stopped", id, st.Status)
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkRun times `berth-runtime run` of busybox true in the foreground:
// create, start, wait and delete, as `docker run --rm` would.
func BenchmarkRun(b *testing.B) {
	bd := benchBundle(b, "true")
	r := newBenchRuntime(b)
	id := fmt.Sprintf("bench-run-%d", os.Getpid())
	for b.Loop() {
		r.run("run", "--bundle", bd.Dir, id)
	}
}

// BenchmarkCreateStartDelete times the three steps of the OCI lifecycle
// separately and reports each as its own metric (create-ms/op, ...). Waiting
// for the process to exit between start and delete is not timed.
func BenchmarkCreateStartDelete(b *testing.B) {
	bd := benchBundle(b, "true")
	r := newBenchRuntime(b)
	id := fmt.Sprintf("bench-csd-%d", os.Getpid())
	var create, start, del time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		r.run("create", "--bundle", bd.Dir, id)
		t1 := time.Now()
		r.run("start", id)
		t2 := time.Now()
		b.StopTimer()
		r.waitStopped(id)
		b.StartTimer()
		t3 := time.Now()
		r.run("delete", id)
		del += time.Since(t3)
		create += t1.Sub(t0)
		start += t2.Sub(t1)
		n++
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(n) }
	b.ReportMetric(ms(create), "create-ms/op")
	b.ReportMetric(ms(start), "start-ms/op")
	b.ReportMetric(ms(del), "delete-ms/op")
}
