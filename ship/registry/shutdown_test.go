package registry

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestGracefulShutdown: a request in flight when the server is told to
// stop completes; new connections are refused; Serve returns nil and the
// root's lock is released.
func TestGracefulShutdown(t *testing.T) {
	root := t.TempDir()
	s := quietServer(t, root)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	base := "http://" + s.Addr()

	resp, err := http.Post(base+"/v2/slow/blobs/uploads/", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "http") {
		loc = base + loc
	}
	// A PATCH whose body arrives slowly: half now, half after the stop.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPatch, loc, pr)
	req.Header.Set("Content-Type", "application/octet-stream")
	answer := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("in-flight request: %v", err)
			answer <- nil
			return
		}
		resp.Body.Close()
		answer <- resp
	}()
	pw.Write([]byte("first half "))
	time.Sleep(100 * time.Millisecond)
	cancel()
	time.Sleep(100 * time.Millisecond)
	// New connections are refused while the old request drains.
	if resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Get(base + "/v2/"); err == nil {
		resp.Body.Close()
		t.Error("a new connection was served after the stop")
	}
	pw.Write([]byte("second half"))
	pw.Close()
	if resp := <-answer; resp != nil && resp.StatusCode != http.StatusAccepted {
		t.Errorf("in-flight PATCH: %s, want 202", resp.Status)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(drainTimeout + 5*time.Second):
		t.Fatal("Serve did not return")
	}
	if _, err := GC(t.Context(), root, GCOptions{DryRun: true}); err != nil {
		t.Errorf("lock not released: %v", err)
	}
}

// TestShutdownCutsOffAndWaits: a request still running when the drain
// time is over is cut off, and Serve returns (releasing the root's lock,
// which lets gc in) only after its handler has finished: nothing writes
// to the storage behind gc's back.
func TestShutdownCutsOffAndWaits(t *testing.T) {
	root := t.TempDir()
	s := quietServer(t, root)
	s.drain = 200 * time.Millisecond
	var finished atomic.Bool
	entered := make(chan struct{})
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		io.Copy(io.Discard, r.Body)        // ends when the connection is cut
		time.Sleep(300 * time.Millisecond) // the storage work after the body
		finished.Store(true)
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	req, _ := http.NewRequest(http.MethodPatch, "http://"+s.Addr()+"/v2/slow/blobs/uploads/x", pr)
	go func() {
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	pw.Write([]byte("a body that never ends"))
	<-entered
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "shutdown") {
			t.Errorf("Serve: %v, want a shutdown error (a request was cut off)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	if !finished.Load() {
		t.Error("Serve returned while a request was still being handled")
	}
	if _, err := GC(t.Context(), root, GCOptions{DryRun: true}); err != nil {
		t.Errorf("lock not released: %v", err)
	}
}

// TestIdleConnectionsClosed: a kept-alive connection left idle is closed
// by the server, so that idle clients cannot pile up open connections.
func TestIdleConnectionsClosed(t *testing.T) {
	s := quietServer(t, t.TempDir())
	s.idle = 200 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /v2/ HTTP/1.1\r\nHost: registry\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/v2/: %s", resp.Status)
	}
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("idle connection: read %v, want EOF (closed by the server)", err)
	}
}

// quietServer opens a server of root on a free loopback port, its logs
// discarded; the test serves it.
func quietServer(t *testing.T, root string) *Server {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	RouteLogs(quiet) // distribution logs through logrus's global logger
	s, err := New(t.Context(), Options{Root: root, Addr: "127.0.0.1:0", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
