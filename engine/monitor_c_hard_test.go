package engine

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"berth/engine/monitor"
	"berth/engine/ocispec"
)

// monitorPid is the pid of the container's monitor.
func monitorPid(t *testing.T, e *Engine, id string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(runDirOf(t, e, id), monitor.PidFile))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// cpuTicks is the user and system time (clock ticks) pid has used.
func cpuTicks(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return ut + st
}

// assertIdle fails when the monitor of id burns CPU for a second.
func assertIdle(t *testing.T, e *Engine, id string) {
	t.Helper()
	pid := monitorPid(t, e, id)
	before := cpuTicks(t, pid)
	time.Sleep(time.Second)
	if used := cpuTicks(t, pid) - before; used > 10 {
		t.Errorf("the monitor used %d ticks in a second: it spins", used)
	}
}

// TestMonitorStdinClosedIdle: a container that closes its stdin (-i)
// while it runs leaves the monitor idle (the pipe's error is not polled
// forever).
func TestMonitorStdinClosedIdle(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	c, err := e.Create(ctx, CreateOptions{Image: "busybox",
		Spec: ocispec.Options{OpenStdin: true, Cmd: []string{"sh", "-c", "exec 0<&-; echo closed; sleep 5"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Start(ctx, c.ID, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	assertIdle(t, e, c.ID)
	// A client's stdin still goes nowhere without harm.
	conn, err := monitor.DialIn(e.runDir(c), monitor.AttachSock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := monitor.WriteFrame(conn, monitor.FrameStdin, []byte("input\n")); err != nil {
		t.Fatal(err)
	}
	assertIdle(t, e, c.ID)
}

// TestMonitorTTYIdle: a terminal container whose processes all closed the
// terminal but which still runs leaves the monitor idle.
func TestMonitorTTYIdle(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	c, err := e.Create(ctx, CreateOptions{Image: "busybox",
		Spec: ocispec.Options{TTY: true, OpenStdin: true, Cmd: []string{"sh", "-c", "exec 0<&- 1>&- 2>&-; sleep 5"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Start(ctx, c.ID, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	assertIdle(t, e, c.ID)
}

// openFds counts pid's open descriptors.
func openFds(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// waitRestarts waits until the container has restarted n times.
func waitRestarts(t *testing.T, e *Engine, id string, n int) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var run monitor.Run
		if monitor.ReadJSON(runDirOf(t, e, id), monitor.RunFile, &run) == nil && run.RestartCount >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the container did not restart %d times", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMonitorNoFdLeak: restarts by the policy leave the monitor with as
// many descriptors as after the first ones (terminal and pipes alike).
func TestMonitorNoFdLeak(t *testing.T) {
	for _, tty := range []bool{false, true} {
		t.Run("tty="+strconv.FormatBool(tty), func(t *testing.T) {
			ctx := context.Background()
			e := testEngine(t)
			c, err := e.Create(ctx, CreateOptions{Image: "busybox", Restart: RestartPolicy{Name: "on-failure", MaximumRetryCount: 1000},
				Spec: ocispec.Options{TTY: tty, OpenStdin: true, Cmd: []string{"sh", "-c", "sleep 0.05; exit 1"}}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.Start(ctx, c.ID, nil); err != nil {
				t.Fatal(err)
			}
			pid := monitorPid(t, e, c.ID)
			// The back-off grows to a minute: keep it short by a reset
			// each time, a stop is enough here; restarts 1..6 take 6 s.
			waitRestarts(t, e, c.ID, 1)
			first := openFds(t, pid)
			waitRestarts(t, e, c.ID, 6)
			if n := openFds(t, pid); n > first {
				t.Errorf("the monitor has %d descriptors after 6 restarts, %d after 1", n, first)
			}
			noZombies(t, pid)
			if _, err := e.Stop(ctx, c.ID, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// nofile is pid's soft limit of open descriptors.
func nofile(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/limits")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "Max open files") {
			if n, err := strconv.Atoi(strings.Fields(l)[3]); err == nil {
				return n
			}
		}
	}
	t.Fatal("no open files limit")
	return 0
}

// TestMonitorOutOfDescriptors: attach clients beyond the monitor's
// descriptor limit leave it idle (no spin on a connection it cannot
// accept), and clients are served again once others went.
func TestMonitorOutOfDescriptors(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	c, err := e.Create(ctx, CreateOptions{Image: "busybox", Spec: ocispec.Options{Cmd: []string{"sh", "-c", "sleep 4; echo alive"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Start(ctx, c.ID, nil); err != nil {
		t.Fatal(err)
	}
	pid := monitorPid(t, e, c.ID)
	// Lower the monitor's limit to a few more than it has open.
	limit := openFds(t, pid) + 30
	if limit > nofile(t, pid) {
		t.Skip("the monitor's descriptor limit is low already")
	}
	rl := unix.Rlimit{Cur: uint64(limit), Max: uint64(nofile(t, pid))}
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &rl, nil); err != nil {
		t.Skip(err)
	}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < limit+20; i++ {
		conn, err := monitor.DialIn(e.runDir(c), monitor.AttachSock)
		if err != nil {
			break // the listen backlog is full
		}
		conns = append(conns, conn)
	}
	if len(conns) < limit {
		t.Fatalf("only %d connections of %d", len(conns), limit)
	}
	time.Sleep(200 * time.Millisecond)
	assertIdle(t, e, c.ID)
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	time.Sleep(200 * time.Millisecond)
	conn, err := monitor.DialIn(e.runDir(c), monitor.AttachSock)
	if err != nil {
		t.Fatal(err)
	}
	conns = append(conns, conn)
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	var out []byte
	for {
		kind, data, err := monitor.ReadFrame(conn)
		if err != nil {
			t.Fatalf("read: %v (output so far %q)", err, out)
		}
		if kind == monitor.FrameStdout {
			out = append(out, data...)
		}
		if kind == monitor.FrameExit {
			break
		}
	}
	if string(out) != "alive\n" {
		t.Errorf("output %q", out)
	}
}

// zombies counts pid's children that ended and were not reaped.
func zombies(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range ents {
		b, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || i+2 >= len(s) {
			continue
		}
		f := strings.Fields(s[i+2:])
		if len(f) > 1 && f[0] == "Z" && f[1] == strconv.Itoa(pid) {
			n++
		}
	}
	return n
}

// noZombies fails unless pid's zombie children are gone within 3 s: a
// child that just ended is a zombie until the monitor's loop reaps it,
// only one that stays is a leak.
func noZombies(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		z := zombies(t, pid)
		if z == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("the monitor has %d zombie children for 3 s", z)
			return
		}
	}
}

// TestMonitorOrphansReaped: a container whose init leaves a process
// behind holding its output ends promptly (the kernel ends the pid
// namespace with its init; the drain waits 2 s at most anyway), its
// output is logged and no child is left a zombie.
func TestMonitorOrphansReaped(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	c, err := e.Create(ctx, CreateOptions{Image: "busybox", Restart: RestartPolicy{Name: "on-failure", MaximumRetryCount: 1},
		Spec: ocispec.Options{Cmd: []string{"sh", "-c", "echo hi; (sleep 0.5; echo late; exec sleep 30) & exit 1"}}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := e.Start(ctx, c.ID, nil); err != nil {
		t.Fatal(err)
	}
	pid := monitorPid(t, e, c.ID)
	waitRestarts(t, e, c.ID, 1)
	// The first run: the init exits at once, the drain takes 2 s at
	// most, the back-off 0.1 s.
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the first exit took %v to be recorded", d)
	}
	noZombies(t, pid)
	if code, err := e.Wait(ctx, c.ID); err != nil || code != 1 {
		t.Fatalf("wait: %d %v", code, err)
	}
	b, err := os.ReadFile(e.LogPath(c.ID))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), `"log":"hi\n"`); n != 2 {
		t.Errorf("the log has %d hi lines, want 2:\n%s", n, b)
	}
}
