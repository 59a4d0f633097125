package content

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Child processes are this test binary run again with childEnv set to a
// role; they act on the store in dirEnv and speak on stdout.
const (
	childEnv = "BERTH_CONTENT_TEST_CHILD"
	dirEnv   = "BERTH_CONTENT_TEST_DIR"
	refEnv   = "BERTH_CONTENT_TEST_REF"
	seedEnv  = "BERTH_CONTENT_TEST_SEED"
	sizeEnv  = "BERTH_CONTENT_TEST_SIZE"
	halfEnv  = "BERTH_CONTENT_TEST_HALF"
)

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		if err := runChild(role); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runChild plays one role:
//   - ingest: Ingest the test blob with no expectation; print its digest.
//   - write-hang: write the first half of the test blob under a ref,
//     print "ready" and wait to be killed.
//   - hold: Hold the store, print "held", release when stdin closes.
func runChild(role string) error {
	ctx := context.Background()
	s, err := Open(os.Getenv(dirEnv))
	if err != nil {
		return err
	}
	seed, _ := strconv.ParseUint(os.Getenv(seedEnv), 10, 64)
	size, _ := strconv.Atoi(os.Getenv(sizeEnv))
	data := testData(seed, size)
	switch role {
	case "ingest":
		desc, err := s.Ingest(ctx, bytes.NewReader(data), ocispec.Descriptor{})
		if err != nil {
			return err
		}
		fmt.Println(desc.Digest)
	case "write-hang":
		half, _ := strconv.Atoi(os.Getenv(halfEnv))
		w, err := s.Writer(ctx, os.Getenv(refEnv), descOf(data))
		if err != nil {
			return err
		}
		if _, err := w.Write(data[:half]); err != nil {
			return err
		}
		fmt.Println("ready")
		time.Sleep(time.Hour) // until SIGKILL
	case "hold":
		release, err := s.Hold(ctx)
		if err != nil {
			return err
		}
		fmt.Println("held")
		io.Copy(io.Discard, os.Stdin)
		release()
	default:
		return fmt.Errorf("unknown role %q", role)
	}
	return nil
}

// child is a running child process.
type child struct {
	cmd   *exec.Cmd
	out   *bufio.Reader
	stdin io.WriteCloser
}

// startChild starts a child in role; it is killed (by its PID, which we
// started) and reaped at cleanup if still running.
func startChild(t *testing.T, s *Store, role string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+role, dirEnv+"="+s.Dir())
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, out: bufio.NewReader(stdout), stdin: stdin}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return c
}

// line reads the child's next line of output.
func (c *child) line(t *testing.T) string {
	t.Helper()
	l, err := c.out.ReadString('\n')
	if err != nil {
		t.Fatalf("child %d: %v", c.cmd.Process.Pid, err)
	}
	return strings.TrimSpace(l)
}

// kill9 ends the child as a crash would.
func (c *child) kill9(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
}

func blobEnv(seed, size int) []string {
	return []string{seedEnv + "=" + strconv.Itoa(seed), sizeEnv + "=" + strconv.Itoa(size)}
}

func TestConcurrentIngestProcesses(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const seed, size = 30, 8 << 20
	data := testData(seed, size)
	want := descOf(data).Digest
	var kids []*child
	for range 4 {
		kids = append(kids, startChild(t, s, "ingest", blobEnv(seed, size)...))
	}
	// The parent races them too.
	if desc, err := s.Ingest(ctx, bytes.NewReader(data), ocispec.Descriptor{}); err != nil || desc.Digest != want {
		t.Fatalf("parent ingest = %v, %v", desc.Digest, err)
	}
	for _, k := range kids {
		if got := k.line(t); got != want.String() {
			t.Errorf("child ingested %s, want %s", got, want)
		}
		if err := k.cmd.Wait(); err != nil {
			t.Errorf("child: %v", err)
		}
	}
	if names := blobNames(t, s); len(names) != 1 {
		t.Fatalf("blobs = %v", names)
	}
	assertBlob(t, s, want, data)
	assertClean(t, s)
}

// TestResumeAfterKill is an interrupted pull: the writer is killed with
// SIGKILL mid-blob; the next writer of the ref resumes where it stopped.
func TestResumeAfterKill(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const seed, size, half = 31, 3 << 20, 1234567
	data := testData(seed, size)
	want := descOf(data)
	k := startChild(t, s, "write-hang", append(blobEnv(seed, size), refEnv+"=layer", halfEnv+"="+strconv.Itoa(half))...)
	if got := k.line(t); got != "ready" {
		t.Fatalf("child said %q", got)
	}
	// Multi-process lock: the child holds the ref.
	if _, err := s.Writer(ctx, "layer", want); !errors.Is(err, ErrLocked) {
		t.Fatalf("Writer while the child writes: %v", err)
	}
	st, err := s.Ingests(ctx)
	if err != nil || len(st) != 1 || !st[0].Active || st[0].Offset != half {
		t.Fatalf("Ingests = %+v, %v", st, err)
	}
	k.kill9(t)

	w, err := s.Writer(ctx, "layer", want)
	if err != nil {
		t.Fatal(err)
	}
	if w.Offset() != half {
		t.Fatalf("Offset = %d, want %d", w.Offset(), half)
	}
	if _, err := w.Write(data[w.Offset():]); err != nil {
		t.Fatal(err)
	}
	desc, err := w.Commit(ctx)
	if err != nil || desc.Digest != want.Digest {
		t.Fatalf("Commit = %+v, %v", desc, err)
	}
	assertBlob(t, s, want.Digest, data)
	assertClean(t, s)
}

// TestSweepWaitsForHoldInOtherProcess: while another process holds the
// store, Sweep removes nothing and waits; once the hold ends it runs.
func TestSweepWaitsForHoldInOtherProcess(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	desc, err := s.WriteBlob(ctx, "x", []byte("unreferenced yet"))
	if err != nil {
		t.Fatal(err)
	}
	k := startChild(t, s, "hold")
	if got := k.line(t); got != "held" {
		t.Fatalf("child said %q", got)
	}
	tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	removed, err := s.Sweep(tctx, func(d digestT) bool { return false })
	if !errors.Is(err, context.DeadlineExceeded) || len(removed) != 0 {
		t.Fatalf("Sweep under a hold = %v, %v", removed, err)
	}
	if !s.Exists(desc.Digest) {
		t.Fatal("blob swept under a hold")
	}
	// A Sweep waiting when the hold ends goes on.
	done := make(chan error, 1)
	go func() {
		removed, err := s.Sweep(ctx, func(d digestT) bool { return false })
		if err == nil && len(removed) != 1 {
			err = fmt.Errorf("removed %v", removed)
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Sweep ran under a hold: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	k.stdin.Close()
	if err := k.cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s.Exists(desc.Digest) {
		t.Fatal("blob not swept after the hold")
	}
}
