package events

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// testEvent is a container event from writer w, number seq, padded so
// that a few thousand of them rotate the log.
func testEvent(w, seq int) Message {
	return New(TypeContainer, "start", fmt.Sprintf("%064d", seq), map[string]string{
		"image": "busybox", "name": "w" + strconv.Itoa(w), "seq": strconv.Itoa(seq),
		"pad": strings.Repeat("x", 300),
	}, time.Now())
}

func TestMessageJSON(t *testing.T) {
	m := New(TypeContainer, "die", "abc", map[string]string{"name": "foo", "image": "busybox", "exitCode": "0"}, time.Unix(1764220000, 123456789))
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"status":"die","id":"abc","from":"busybox","Type":"container","Action":"die","Actor":{"ID":"abc","Attributes":{"exitCode":"0","image":"busybox","name":"foo"}},"scope":"local","time":1764220000,"timeNano":1764220000123456789}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	v := New(TypeVolume, "create", "data", map[string]string{"driver": "local"}, time.Unix(1, 0))
	b, _ = json.Marshal(v)
	if strings.Contains(string(b), `"status"`) || strings.Contains(string(b), `"from"`) {
		t.Errorf("a volume event has the container-only fields: %s", b)
	}
}

// readAll returns every line of events.log.1 and events.log, in order.
func readAll(t *testing.T, root string) []string {
	t.Helper()
	var lines []string
	for _, name := range []string{RotatedFile, LogFile} {
		f, err := os.Open(filepath.Join(root, name))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, MaxLine), MaxLine)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return lines
}

// checkContiguous checks that every line is an event and that each
// writer's events in the files are a contiguous run ending at its last
// (rotation drops only the oldest), and returns how many lines there are.
func checkContiguous(t *testing.T, root string, writers, perWriter int) int {
	t.Helper()
	lines := readAll(t, root)
	next := map[string]int{}
	for i, l := range lines {
		m, err := Parse([]byte(l))
		if err != nil {
			t.Fatalf("line %d is torn or not an event (%v): %.80q", i, err, l)
		}
		w, seq := m.Actor.Attributes["name"], m.Actor.Attributes["seq"]
		n, _ := strconv.Atoi(seq)
		if want, ok := next[w]; ok && n != want {
			t.Fatalf("writer %s: event %d after %d: a line was lost", w, n, want-1)
		}
		next[w] = n + 1
	}
	for w := 0; w < writers; w++ {
		if got := next["w"+strconv.Itoa(w)]; got != perWriter {
			t.Errorf("writer %d: last event %d, want %d", w, got-1, perWriter-1)
		}
	}
	return len(lines)
}

func TestAppendConcurrentGoroutines(t *testing.T) {
	root := t.TempDir()
	const writers, perWriter = 6, 1000 // ~2.4 MB: rotates twice
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				if err := Append(root, testEvent(w, i)); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	if _, err := os.Stat(filepath.Join(root, RotatedFile)); err != nil {
		t.Fatalf("no rotation: %v", err)
	}
	n := checkContiguous(t, root, writers, perWriter)
	if st, _ := os.Stat(filepath.Join(root, LogFile)); st.Size() > MaxSize+MaxLine {
		t.Errorf("events.log is %d bytes: not rotated at %d", st.Size(), MaxSize)
	}
	t.Logf("%d of %d lines kept across rotation", n, writers*perWriter)
}

// TestHelperAppender is a child process of TestAppendConcurrentProcesses.
func TestHelperAppender(t *testing.T) {
	root, w := os.Getenv("BERTH_EVENTS_TEST_ROOT"), os.Getenv("BERTH_EVENTS_TEST_WRITER")
	if root == "" {
		t.Skip("run by TestAppendConcurrentProcesses")
	}
	n, _ := strconv.Atoi(w)
	per, _ := strconv.Atoi(os.Getenv("BERTH_EVENTS_TEST_COUNT"))
	for i := 0; i < per; i++ {
		if err := Append(root, testEvent(n, i)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAppendConcurrentProcesses(t *testing.T) {
	root := t.TempDir()
	// ~1.2 MB: one rotation, and both files keep every line. (With 3.6
	// MB, a writer that ran ahead under load lost all its lines to the
	// rotations.)
	const writers, perWriter = 4, 500
	var cmds []*exec.Cmd
	for w := 0; w < writers; w++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperAppender$", "-test.count=1")
		cmd.Env = append(os.Environ(), "BERTH_EVENTS_TEST_ROOT="+root, "BERTH_EVENTS_TEST_WRITER="+strconv.Itoa(w),
			"BERTH_EVENTS_TEST_COUNT="+strconv.Itoa(perWriter))
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("appender: %v", err)
		}
	}
	checkContiguous(t, root, writers, perWriter)
}

// collector gathers what Follow delivers.
type collector struct {
	mu   sync.Mutex
	msgs []Message
}

func (c *collector) add(m Message) error {
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
	return nil
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

// waitFor waits until the collector has n events.
func (c *collector) waitFor(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for c.len() < n {
		if time.Now().After(deadline) {
			t.Fatalf("got %d events, want %d", c.len(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFollowAcrossRotation(t *testing.T) {
	root := t.TempDir()
	// Past events, some already rotated into events.log.1.
	const past = 3000 // ~1.2 MB: one rotation
	for i := 0; i < past; i++ {
		if err := Append(root, testEvent(0, i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, RotatedFile)); err != nil {
		t.Fatal("expected a rotation")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var c collector
	done := make(chan error, 1)
	go func() { done <- Follow(ctx, root, Options{Since: time.Unix(1, 0)}, c.add) }()
	c.waitFor(t, past)
	// New events from two writers, slow enough for the 50 ms poll, across
	// two more rotations.
	const writers, perWriter = 2, 3000
	var wg sync.WaitGroup
	for w := 1; w <= writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				if err := Append(root, testEvent(w, i)); err != nil {
					t.Error(err)
					return
				}
				if i%100 == 0 {
					time.Sleep(5 * time.Millisecond)
				}
			}
		}(w)
	}
	wg.Wait()
	c.waitFor(t, past+writers*perWriter)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	next := map[string]int{}
	for _, m := range c.msgs {
		w := m.Actor.Attributes["name"]
		n, _ := strconv.Atoi(m.Actor.Attributes["seq"])
		if n != next[w] {
			t.Fatalf("writer %s: got event %d, want %d", w, n, next[w])
		}
		next[w]++
	}
	if len(c.msgs) != past+writers*perWriter {
		t.Errorf("got %d events, want %d", len(c.msgs), past+writers*perWriter)
	}
}

func TestFollowSinceUntil(t *testing.T) {
	root := t.TempDir()
	base := time.Unix(1764220000, 0)
	for i := 0; i < 10; i++ {
		m := testEvent(0, i)
		m.Time, m.TimeNano = base.Add(time.Duration(i)*time.Second).Unix(), base.Add(time.Duration(i)*time.Second).UnixNano()
		if err := Append(root, m); err != nil {
			t.Fatal(err)
		}
	}
	var c collector
	// Until in the past: the past events between, then return at once.
	o := Options{Since: base.Add(2 * time.Second), Until: base.Add(5 * time.Second)}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := Follow(ctx, root, o, c.add); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("Follow with until in the past did not return by itself")
	}
	var seqs []string
	for _, m := range c.msgs {
		seqs = append(seqs, m.Actor.Attributes["seq"])
	}
	if got := strings.Join(seqs, ","); got != "2,3,4,5" {
		t.Errorf("since/until: got events %s, want 2,3,4,5", got)
	}
	// Until ahead: follows, then returns when it passes.
	start := time.Now()
	var c2 collector
	if err := Follow(context.Background(), root, Options{Until: start.Add(300 * time.Millisecond)}, c2.add); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 5*time.Second {
		t.Errorf("Follow until 300 ms ahead returned after %v", d)
	}
	if c2.len() != 10 {
		t.Errorf("got %d past events, want 10", c2.len())
	}
}

func TestFollowSkipsGarbage(t *testing.T) {
	root := t.TempDir()
	good := func(i int) string {
		b, _ := json.Marshal(testEvent(0, i))
		return string(b) + "\n"
	}
	content := good(0) +
		"not json\n" +
		"{\"Type\":\"container\"}\n" + // no action or time
		"\x00\x00\x00\n" +
		"{\"Type\":\"container\",\"Action\":\"start\",\"time\":1,\"Actor\":{\"Attributes\":[1,2]}}\n" +
		strings.Repeat("y", MaxLine+10) + "\n" + // overlong
		good(1)[:40] + "\n" + // torn
		"{\"Type\":\"container\",\"Action\":\"x\",\"time\":1e400}\n" +
		good(2) +
		good(3)[:50] // torn last line, no newline
	if err := os.WriteFile(filepath.Join(root, LogFile), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, RotatedFile), []byte("garbage\x00\xff\n{"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Past events only: the torn last line is dropped.
	var past collector
	if err := Follow(context.Background(), root, Options{Until: time.Now()}, past.add); err != nil {
		t.Fatal(err)
	}
	if past.len() != 2 {
		t.Errorf("past events: got %d, want 2", past.len())
	}
	// Followed: the torn last line may yet be finished by its writer.
	var c collector
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Follow(ctx, root, Options{Since: time.Unix(1, 0)}, c.add) }()
	c.waitFor(t, 2)
	// A writer appends after the torn line: the torn start joins it and
	// the result is garbage, skipped; the next line is read.
	if err := Append(root, testEvent(0, 4)); err != nil {
		t.Fatal(err)
	}
	if err := Append(root, testEvent(0, 5)); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, 3)
	cancel()
	<-done
	var seqs []string
	for _, m := range c.msgs {
		seqs = append(seqs, m.Actor.Attributes["seq"])
	}
	if got := strings.Join(seqs, ","); got != "0,2,5" {
		t.Errorf("got events %s, want 0,2,5", got)
	}
}

// TestFollowOnlyNew: without since or until, past events are not
// delivered, as Docker's.
func TestFollowOnlyNew(t *testing.T) {
	root := t.TempDir()
	for i := 0; i < 3000; i++ { // one rotation
		_ = Append(root, testEvent(0, i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var c collector
	done := make(chan error, 1)
	go func() { done <- Follow(ctx, root, Options{}, c.add) }()
	time.Sleep(4 * PollInterval)
	for i := 0; i < 3000; i++ { // and another
		_ = Append(root, testEvent(1, i))
	}
	deadline := time.Now().Add(20 * time.Second)
	for c.len() < 3000 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(4 * PollInterval)
	cancel()
	<-done
	for _, m := range c.msgs {
		if m.Actor.Attributes["name"] != "w1" {
			t.Fatalf("a past event was delivered: %v", m.Actor.Attributes)
		}
	}
	if c.len() != 3000 {
		seen := map[string]bool{}
		for _, m := range c.msgs {
			seen[m.Actor.Attributes["seq"]] = true
		}
		var missing []int
		for i := 0; i < 3000; i++ {
			if !seen[strconv.Itoa(i)] {
				missing = append(missing, i)
			}
		}
		t.Errorf("got %d new events, want 3000; missing %v", c.len(), missing)
	}
}

func TestFollowNoLog(t *testing.T) {
	root := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var c collector
	done := make(chan error, 1)
	go func() { done <- Follow(ctx, root, Options{}, c.add) }()
	time.Sleep(2 * PollInterval)
	if err := Append(root, testEvent(0, 0)); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, 1)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestFollowStopsOnCallbackError(t *testing.T) {
	root := t.TempDir()
	for i := 0; i < 3; i++ {
		_ = Append(root, testEvent(0, i))
	}
	errStop := fmt.Errorf("stop")
	err := Follow(context.Background(), root, Options{Since: time.Unix(1, 0)}, func(Message) error { return errStop })
	if err != errStop {
		t.Errorf("got %v, want the callback's error", err)
	}
}
