package cli_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// eventLine is Docker's default line of an event: time, type, action
// (which may hold spaces: "exec_start: sh -c ls"), actor ID, attributes.
var eventLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) (\w+) ([^(]+) ([^\s(]\S*)(?: \((.*)\))?$`)

// actions lists the actions of the default lines out.
func actions(t *testing.T, out string) []string {
	t.Helper()
	var acts []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		m := eventLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("not an event line: %q", l)
		}
		acts = append(acts, m[3])
	}
	return acts
}

// unixNow is now as --since/--until take it, in Unix seconds with a
// fraction.
func unixNow() string {
	now := time.Now()
	return fmt.Sprintf("%d.%09d", now.Unix(), now.Nanosecond())
}

func TestEventsSinceUntil(t *testing.T) {
	e := newEnv(t).withBusybox()
	since := unixNow()
	id := strings.TrimSpace(e.must("create", "--name", "ev1", "--label", "tier=front", "busybox", "sleep", "100"))
	e.must("start", "ev1")
	e.must("stop", "-t", "1", "ev1")
	e.must("rm", "ev1")
	until := unixNow()

	out := e.must("events", "--since", since, "--until", until, "--filter", "container=ev1")
	acts := actions(t, out)
	// die comes from the monitor; the rest from berth, in this order.
	var got []string
	for _, a := range acts {
		if a != "die" {
			got = append(got, a)
		}
	}
	// busybox's sleep as pid 1 ignores SIGTERM: KILL after -t 1.
	if want := "create start kill kill stop destroy"; strings.Join(got, " ") != want {
		t.Errorf("events: got %v, want %s (and die)\n%s", acts, want, out)
	}
	first := strings.SplitN(out, "\n", 2)[0]
	if !strings.Contains(first, " container create "+id+" (image=busybox, name=ev1, tier=front)") {
		t.Errorf("create line: %q", first)
	}
	for _, sig := range []string{"15", "9"} {
		if !strings.Contains(out, "container kill "+id+" (image=busybox, name=ev1, signal="+sig+", tier=front)") {
			t.Errorf("no kill with signal=%s:\n%s", sig, out)
		}
	}

	// Filters: another container's, the type, the event, labels.
	e.must("create", "--name", "other", "busybox", "true")
	until = unixNow()
	all := actions(t, e.must("events", "--since", since, "--until", until))
	if len(all) != len(acts)+1 {
		t.Errorf("unfiltered: %d events, want %d", len(all), len(acts)+1)
	}
	if got := actions(t, e.must("events", "--since", since, "--until", until, "-f", "event=create")); len(got) != 2 {
		t.Errorf("event=create: %v", got)
	}
	if got := actions(t, e.must("events", "--since", since, "--until", until, "-f", "label=tier=front", "-f", "event=destroy")); strings.Join(got, " ") != "destroy" {
		t.Errorf("label and event: %v", got)
	}
	if out := e.must("events", "--since", since, "--until", until, "-f", "type=image"); out != "" {
		t.Errorf("type=image: %q", out)
	}
	// A duration: the same events from the last hour.
	if got := actions(t, e.must("events", "--since", "1h", "--until", "0s", "-f", "container=ev1")); len(got) != len(acts) {
		t.Errorf("--since 1h: %v, want %v", got, acts)
	}
}

func TestEventsBadOptions(t *testing.T) {
	e := newEnv(t)
	e.fails(125, "failed to parse", "events", "--since", "yesterday", "--until", "0s")
	e.fails(125, "failed to parse", "events", "--until", "2026-13-45")
	e.fails(125, "invalid filter 'colour'", "events", "--filter", "colour=red", "--until", "0s")
	e.fails(125, "bad format of filter", "events", "--filter", "container", "--until", "0s")
	e.fails(125, "cannot be after", "events", "--since", "1m", "--until", "2m")
	e.fails(125, "--format", "events", "--format", "{{.Nope", "--until", "0s")
}

// eventStream is a running `berth events`.
type eventStream struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	done  chan struct{}
}

func (e *env) startEvents(args ...string) *eventStream {
	e.t.Helper()
	cmd := exec.Command(binary, append([]string{"--root", e.root, "events"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	s := &eventStream{cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			s.mu.Lock()
			s.lines = append(s.lines, sc.Text())
			s.mu.Unlock()
		}
	}()
	e.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.done
		_ = cmd.Wait()
	})
	return s
}

// waitLine waits until a line holding want has come and returns it.
func (s *eventStream) waitLine(t *testing.T, want string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, l := range s.lines {
			if strings.Contains(l, want) {
				s.mu.Unlock()
				return l
			}
		}
		s.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Fatalf("no event line with %q; got:\n%s", want, strings.Join(s.lines, "\n"))
	return ""
}

// stop ends it with SIGTERM, as Ctrl-C would, and checks it exits 0.
func (s *eventStream) stop(t *testing.T) {
	t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatal("berth events did not end on SIGTERM")
	}
	if err := s.cmd.Wait(); err != nil {
		t.Errorf("berth events after SIGTERM: %v", err)
	}
}

func TestEventsFollowJSON(t *testing.T) {
	e := newEnv(t).withBusybox()
	// --since: no race with the start of the follower.
	s := e.startEvents("--since", unixNow(), "--filter", "container=ev2", "--format", "{{json .}}")
	id := strings.TrimSpace(e.must("run", "-d", "--name", "ev2", "busybox", "sleep", "100"))
	line := s.waitLine(t, `"Action":"start"`)
	e.must("rm", "-f", "ev2")
	s.waitLine(t, `"Action":"destroy"`)
	want := `{"status":"start","id":"` + id + `","from":"busybox","Type":"container","Action":"start","Actor":{"ID":"` + id +
		`","Attributes":{"image":"busybox","name":"ev2"}},"scope":"local","time":`
	if !strings.HasPrefix(line, want) {
		t.Errorf("json line:\n got %s\nwant %s...", line, want)
	}
	var m struct {
		Time     int64 `json:"time"`
		TimeNano int64 `json:"timeNano"`
	}
	if err := json.Unmarshal([]byte(line), &m); err != nil || m.TimeNano/1e9 != m.Time || m.Time == 0 {
		t.Errorf("json line times: %v %+v", err, m)
	}
	s.stop(t)
	var acts []string
	for _, l := range s.lines {
		var m struct{ Action string }
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		if m.Action != "die" {
			acts = append(acts, m.Action)
		}
	}
	if got := strings.Join(acts, " "); got != "create start kill destroy" {
		t.Errorf("run -d, rm -f: got %s, want create start kill destroy (and die)", got)
	}
}

// TestEventsFollowNew follows without --since: only new events, as they
// come from other commands.
func TestEventsFollowNew(t *testing.T) {
	e := newEnv(t).withBusybox()
	e.must("volume", "create", "before")
	s := e.startEvents("--filter", "type=volume")
	// Make volumes until the follower shows one: it may start late.
	var n int
	deadline := time.Now().Add(30 * time.Second)
	for ; time.Now().Before(deadline); n++ {
		e.must("volume", "create", "v"+strconv.Itoa(n))
		s.mu.Lock()
		got := len(s.lines)
		s.mu.Unlock()
		if got > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.must("volume", "rm", "v0")
	s.waitLine(t, "volume destroy v0 (driver=local)")
	s.stop(t)
	for _, l := range s.lines {
		if strings.Contains(l, "before") {
			t.Errorf("a past event was shown: %s", l)
		}
		if !strings.Contains(l, " volume ") {
			t.Errorf("type=volume shows %s", l)
		}
	}
	// --until ahead: follows, then exits by itself.
	start := time.Now()
	until := strconv.FormatInt(time.Now().Add(2*time.Second).Unix(), 10)
	out := e.must("events", "--since", "1h", "--until", until, "-f", "volume=before")
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Errorf("--until ahead returned after %v", d)
	}
	if !strings.Contains(out, "volume create before (driver=local)") {
		t.Errorf("--since 1h --until: %q", out)
	}
}

// TestEventsImages: the image commands' events.
func TestEventsImages(t *testing.T) {
	e := newEnv(t).withBusybox()
	since := unixNow()
	e.must("tag", "busybox", "mine:1")
	e.must("rmi", "mine:1")
	until := unixNow()
	out := e.must("events", "--since", since, "--until", until)
	got := actions(t, out)
	if strings.Join(got, " ") != "tag untag" {
		t.Errorf("tag, rmi of one name: %v\n%s", got, out)
	}
	if !regexp.MustCompile(`image tag sha256:[0-9a-f]{64} \(name=mine:1\)`).MatchString(out) {
		t.Errorf("tag line: %s", out)
	}
	if got := actions(t, e.must("events", "--since", since, "--until", until, "-f", "image=mine")); len(got) != 1 {
		t.Errorf("image=mine: %v", got)
	}
	// save; the last name removed: the image goes too; load.
	since = unixNow()
	archive := filepath.Join(t.TempDir(), "bb.tar")
	e.must("save", "-o", archive, "busybox")
	e.must("rmi", "busybox")
	e.must("load", "-q", "-i", archive)
	out = e.must("events", "--since", since, "--until", unixNow())
	if got := actions(t, out); strings.Join(got, " ") != "save untag delete load" {
		t.Errorf("save, rmi of the last name, load: %v\n%s", got, out)
	}
	if !regexp.MustCompile(`image load (sha256:[0-9a-f]{64}) \(name=sha256:[0-9a-f]{64}\)`).MatchString(out) {
		t.Errorf("load line:\n%s", out)
	}
}

// TestEventsContainerActions: the other container commands' events, as
// Docker names them.
func TestEventsContainerActions(t *testing.T) {
	e := newEnv(t).withBusybox()
	since := unixNow()
	id := strings.TrimSpace(e.must("run", "-d", "--name", "ev3", "busybox", "sleep", "100"))
	e.must("exec", "ev3", "true")
	e.must("pause", "ev3")
	e.must("unpause", "ev3")
	e.must("rename", "ev3", "ev4")
	e.must("top", "ev4")
	e.must("commit", "ev4", "snap:1")
	e.must("rm", "-f", "ev4")
	until := unixNow()
	out := e.must("events", "--since", since, "--until", until, "-f", "container="+id[:12])
	var got []string
	for _, a := range actions(t, out) {
		if a != "die" {
			got = append(got, a)
		}
	}
	want := []string{"create", "start", "exec_create: true ", "exec_start: true ", "exec_die", "pause", "unpause",
		"rename", "top", "commit", "kill", "destroy"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got  %q\nwant %q\n%s", got, want, out)
	}
	for _, re := range []string{
		`container exec_die ` + id + ` \(execID=[0-9a-f]{64}, exitCode=0, image=busybox, name=ev3\)`,
		`container rename ` + id + ` \(image=busybox, name=ev4, oldName=/ev3\)`,
		`container commit ` + id + ` \(comment=, image=busybox, imageID=sha256:[0-9a-f]{64}, imageRef=snap:1, name=ev4\)`,
		`container kill ` + id + ` \(image=busybox, name=ev4, signal=9\)`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("no line matching %s in\n%s", re, out)
		}
	}
	// exec_start filters as Docker's: also the action with its command.
	if got := actions(t, e.must("events", "--since", since, "--until", until, "-f", "event=exec_start")); len(got) != 1 {
		t.Errorf("event=exec_start: %v", got)
	}
	if out := e.must("events", "--since", since, "--until", until, "-f", "image=snap"); !strings.Contains(out, "image tag sha256:") {
		t.Errorf("image=snap: no tag event:\n%s", out)
	}
}

// TestEventsPrune: prunes record what they reclaimed, with no actor.
func TestEventsPrune(t *testing.T) {
	e := newEnv(t).withBusybox()
	since := unixNow()
	e.must("volume", "create", "gone")
	e.must("volume", "prune", "-a", "-f")
	e.must("container", "prune", "-f")
	out := e.must("events", "--since", since, "--until", unixNow())
	for _, want := range []string{"volume destroy gone (driver=local)", "volume prune  (reclaimed=", "container prune  (reclaimed=0)"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}
