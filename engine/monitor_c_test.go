package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"berth/engine/events"
	"berth/engine/monitor"
	"berth/engine/ocispec"
)

// TestMonitorBackPressure: a client that reads slowly still gets every
// byte of 20 MiB of output (the monitor stops reading the container's
// output while the client lags, instead of dropping it), and so does the
// log.
func TestMonitorBackPressure(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	const total = 20 << 20
	// 80-byte lines: 262144 of them.
	line := []byte("0123456789012345678901234567890123456789012345678901234567890123456789012345678\n")
	cmd := "yes " + strings.TrimSpace(string(line)) + " | head -c 20971520"
	c, err := e.Create(ctx, CreateOptions{Image: "busybox", LogMaxSize: 200 << 20, LogMaxFiles: 1,
		Spec: ocispec.Options{Cmd: []string{"sh", "-c", cmd}}})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		n, code int
		hwm     int64 // the monitor's peak memory, kB
		err     error
	}
	done := make(chan result, 1)
	attach := func(conn net.Conn) error {
		go func() {
			defer conn.Close()
			var r result
			r.code = -1
			for {
				kind, data, err := monitor.ReadFrame(conn)
				if err != nil {
					if !errors.Is(err, io.EOF) {
						r.err = err
					}
					break
				}
				switch kind {
				case monitor.FrameStdout:
					for i, b := range data {
						if b != line[(r.n+i)%len(line)] && r.err == nil {
							r.err = fmt.Errorf("stdout byte %d is %q", r.n+i, b)
						}
					}
					r.n += len(data)
					if r.n > total/2 && r.hwm == 0 {
						r.hwm = monitorHWM(e.runDir(c))
					}
				case monitor.FrameExit:
					r.code = int(int32(uint32(data[0])<<24 | uint32(data[1])<<16 | uint32(data[2])<<8 | uint32(data[3])))
				}
				if r.code >= 0 {
					break
				}
				// Slow: about 6 MB/s at most.
				time.Sleep(time.Duration(len(data)/32) * time.Microsecond * 5)
			}
			done <- r
		}()
		return nil
	}
	if _, err := e.Start(ctx, c.ID, attach); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the attach client got no exit frame")
	}
	if r.err != nil || r.n != total || r.code != 0 {
		t.Fatalf("the client got %d bytes (want %d), exit %d, error %v", r.n, total, r.code, r.err)
	}
	// The monitor held the output back rather than queueing it all.
	if r.hwm <= 0 || r.hwm > 8<<10 {
		t.Errorf("the monitor's peak memory was %d kB", r.hwm)
	}
	f, err := os.Open(e.LogPath(c.ID))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n, lines := 0, 0
	for sc.Scan() {
		var ent struct {
			Log string `json:"log"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ent); err != nil {
			t.Fatalf("log line %d: %v", lines, err)
		}
		n += len(ent.Log)
		lines++
	}
	if n != total || lines != total/80 {
		t.Errorf("the log has %d bytes in %d lines, want %d in %d", n, lines, total, total/80)
	}
}

// monitorHWM is the peak resident memory (kB) of the container's
// monitor, -1 when unknown.
func monitorHWM(dir string) int64 {
	b, err := os.ReadFile(filepath.Join(dir, monitor.PidFile))
	if err != nil {
		return -1
	}
	st, err := os.ReadFile("/proc/" + strings.TrimSpace(string(b)) + "/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(st), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			n, err := strconv.ParseInt(f[1], 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}

// TestMonitorStopDuringBackoff: stop of a container in its restart
// back-off returns at once (the monitor notices stop-requested), not after
// the back-off.
func TestMonitorStopDuringBackoff(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	c, err := e.Create(ctx, CreateOptions{Image: "busybox", Restart: RestartPolicy{Name: "always"},
		Spec: ocispec.Options{Cmd: []string{"false"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Start(ctx, c.ID, nil); err != nil {
		t.Fatal(err)
	}
	// Back-offs of 0.1, 0.2, 0.4, 0.8, 1.6 s: after five restarts the
	// next one waits 3.2 s.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var run monitor.Run
		var exit monitor.Exit
		if monitor.ReadJSON(e.runDir(c), monitor.RunFile, &run) == nil && run.RestartCount >= 5 &&
			monitor.ReadJSON(e.dir(c.ID), monitor.ExitFile, &exit) == nil && exit.FinishedAt.After(run.StartedAt) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the container did not restart five times")
		}
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	if _, err := e.Stop(ctx, c.ID, nil); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("stop took %v during the back-off", d)
	}
	var exit monitor.Exit
	if err := monitor.ReadJSON(e.dir(c.ID), monitor.ExitFile, &exit); err != nil || exit.ExitCode != 1 {
		t.Errorf("exit %+v, %v", exit, err)
	}
	for i := 0; e.monitorAlive(c); i++ {
		if i > 100 {
			t.Fatal("the monitor did not end")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMonitorEvents: the monitor's die, and policy start, events are
// lines Go's encoding/json would write for the same message.
func TestMonitorEvents(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	labels := map[string]string{"zz": "last", "a.b": "<&> \t\"é\"", "exitCode": "spoofed"}
	c, err := e.Create(ctx, CreateOptions{Name: "ev", Image: "busybox", Restart: RestartPolicy{Name: "on-failure", MaximumRetryCount: 1},
		Spec: ocispec.Options{Cmd: []string{"sh", "-c", "exit 3"}, Labels: labels}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Start(ctx, c.ID, nil); err != nil {
		t.Fatal(err)
	}
	if code, err := e.Wait(ctx, c.ID); err != nil || code != 3 {
		t.Fatalf("wait: %d %v", code, err)
	}
	b, err := os.ReadFile(filepath.Join(e.root, events.LogFile))
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m events.Message
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if m.ID != c.ID || m.Type != events.TypeContainer {
			continue
		}
		if m.Action != "die" && !(m.Action == "start" && len(actions) > 0) {
			continue
		}
		actions = append(actions, m.Action)
		again, _ := json.Marshal(m)
		if string(again) != line {
			t.Errorf("the monitor wrote\n%s\nencoding/json writes\n%s", line, again)
		}
		want := map[string]string{"image": "busybox", "name": "ev", "zz": "last", "a.b": labels["a.b"]}
		if m.Action == "die" {
			want["exitCode"] = "3"
		} else {
			want["exitCode"] = "spoofed"
		}
		for k, v := range want {
			if m.Actor.Attributes[k] != v {
				t.Errorf("%s: attribute %s = %q, want %q", m.Action, k, m.Actor.Attributes[k], v)
			}
		}
		if m.Status != m.Action || m.From != "busybox" || m.Scope != "local" || m.Time == 0 || m.TimeNano/1e9 != m.Time {
			t.Errorf("event %+v", m)
		}
	}
	if got := strings.Join(actions, " "); got != "die start die" {
		t.Errorf("monitor events %q, want die start die", got)
	}
}

// TestMonitorHostileFrames: attach clients sending garbage (unknown
// kinds, bad resizes, oversized or truncated frames) are dropped or
// ignored; the monitor and its other clients go on.
func TestMonitorHostileFrames(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t)
	c, err := e.Create(ctx, CreateOptions{Image: "busybox", Spec: ocispec.Options{Cmd: []string{"sh", "-c", "sleep 1; echo alive"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Start(ctx, c.ID, nil); err != nil {
		t.Fatal(err)
	}
	good, err := monitor.DialIn(e.runDir(c), monitor.AttachSock)
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	for _, junk := range [][]byte{
		{9, 0, 0, 0, 3, 'a', 'b', 'c'},               // unknown kind
		{monitor.FrameResize, 0, 0, 0, 1, 7},         // short resize
		{monitor.FrameStdin, 0, 0, 0, 2, 'h'},        // truncated
		{monitor.FrameStdin, 0xff, 0xff, 0xff, 0xff}, // oversized
		{monitor.FrameStdin, 0, 0x20, 0, 0},          // 2 MiB: over the limit
		{monitor.FrameStdin, 0, 0, 0, 0},             // close stdin (there is none)
	} {
		conn, err := monitor.DialIn(e.runDir(c), monitor.AttachSock)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write(junk); err != nil {
			t.Fatal(err)
		}
		conn.Close()
	}
	_ = good.SetReadDeadline(time.Now().Add(30 * time.Second))
	var out []byte
	code := -1
	for code < 0 {
		kind, data, err := monitor.ReadFrame(good)
		if err != nil {
			t.Fatalf("read: %v (output so far %q)", err, out)
		}
		switch kind {
		case monitor.FrameStdout:
			out = append(out, data...)
		case monitor.FrameExit:
			code = int(data[3])
		}
	}
	if string(out) != "alive\n" || code != 0 {
		t.Errorf("output %q, exit %d", out, code)
	}
}
