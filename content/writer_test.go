package content

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestWriterResumeAfterClose(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	data := testData(10, 1<<20)
	want := descOf(data)
	w, err := s.Writer(ctx, "layer-1", want)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data[:400000]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if names := blobNames(t, s); len(names) != 0 {
		t.Fatalf("partial data visible: %v", names)
	}
	st, err := s.Ingests(ctx)
	if err != nil || len(st) != 1 || st[0].Ref != "layer-1" || st[0].Offset != 400000 || st[0].Active || st[0].Expected.Digest != want.Digest {
		t.Fatalf("Ingests = %+v, %v", st, err)
	}

	w, err = s.Writer(ctx, "layer-1", want)
	if err != nil {
		t.Fatal(err)
	}
	if w.Offset() != 400000 || w.Ref() != "layer-1" {
		t.Fatalf("Offset = %d after resume", w.Offset())
	}
	if _, err := w.Write(data[w.Offset():]); err != nil {
		t.Fatal(err)
	}
	desc, err := w.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest != want.Digest || desc.Size != want.Size || desc.MediaType != want.MediaType {
		t.Fatalf("desc = %+v", desc)
	}
	assertBlob(t, s, want.Digest, data)
	assertClean(t, s)
	// Calls after the end are errors, ends are idempotent.
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("Write after Commit succeeded")
	}
	if _, err := w.Commit(ctx); err == nil {
		t.Fatal("second Commit succeeded")
	}
	if w.Close() != nil || w.Abort() != nil {
		t.Fatal("Close/Abort after Commit failed")
	}
}

func TestWriterRestartsOnNewExpectation(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	a, b := testData(11, 5000), testData(12, 6000)
	w, err := s.Writer(ctx, "ref", descOf(a))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(a[:100])
	w.Close()
	w, err = s.Writer(ctx, "ref", descOf(b))
	if err != nil {
		t.Fatal(err)
	}
	if w.Offset() != 0 {
		t.Fatalf("Offset = %d for a new expectation", w.Offset())
	}
	w.Write(b)
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	assertBlob(t, s, descOf(b).Digest, b)
	assertClean(t, s)
}

func TestWriterUnknownDigestResumes(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	data := testData(13, 70000)
	w, err := s.Writer(ctx, "import-1", ocispec.Descriptor{})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data[:30000])
	w.Close()
	w, err = s.Writer(ctx, "import-1", ocispec.Descriptor{})
	if err != nil {
		t.Fatal(err)
	}
	if w.Offset() != 30000 {
		t.Fatalf("Offset = %d", w.Offset())
	}
	w.Write(data[30000:])
	if w.Digest() != descOf(data).Digest {
		t.Fatal("Digest() differs before commit")
	}
	desc, err := w.Commit(ctx)
	if err != nil || desc.Digest != descOf(data).Digest {
		t.Fatalf("desc = %+v, %v", desc, err)
	}
}

func TestWriterGarbageIngestState(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	data := testData(14, 1000)
	want := descOf(data)
	name, _ := ingestName("ref")
	dir := filepath.Join(s.Dir(), ingestDir, name)
	// As left by a crash: a torn ingest.json, data longer than the blob.
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, ingestMeta), []byte(`{"ref":"ref","expe`), 0o600)
	os.WriteFile(filepath.Join(dir, ingestData), testData(15, 5000), 0o600)
	w, err := s.Writer(ctx, "ref", want)
	if err != nil {
		t.Fatal(err)
	}
	if w.Offset() != 0 {
		t.Fatalf("Offset = %d from a torn ingest", w.Offset())
	}
	w.Close()
	// The right ingest.json but too much data: restart too.
	os.WriteFile(filepath.Join(dir, ingestData), testData(15, 5000), 0o600)
	w, err = s.Writer(ctx, "ref", want)
	if err != nil {
		t.Fatal(err)
	}
	if w.Offset() != 0 {
		t.Fatalf("Offset = %d with data beyond the size", w.Offset())
	}
	w.Write(data)
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	assertClean(t, s)
}

func TestWriterRefusesOverflow(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	data := testData(16, 100)
	w, err := s.Writer(ctx, "ref", descOf(data))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if _, err := w.Write(data[:60]); err != nil {
		t.Fatal(err)
	}
	if n, err := w.Write(data[:60]); !errors.Is(err, ErrSizeMismatch) || n != 0 {
		t.Fatalf("overflowing Write = %d, %v", n, err)
	}
	if w.Offset() != 60 {
		t.Fatalf("Offset = %d", w.Offset())
	}
}

func TestWriterCommitMismatchDropsData(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	data := testData(17, 100)
	want := descOf(data)
	w, _ := s.Writer(ctx, "ref", want)
	bad := append([]byte{}, data...)
	bad[0] ^= 1
	w.Write(bad)
	if _, err := w.Commit(ctx); !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), want.Digest.String()) {
		t.Fatalf("Commit = %v", err)
	}
	assertClean(t, s)
	if len(blobNames(t, s)) != 0 {
		t.Fatal("bad data visible")
	}
}

func TestWriterAlreadyExists(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	data := testData(18, 100)
	if _, err := s.Ingest(ctx, bytes.NewReader(data), descOf(data)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Writer(ctx, "ref", descOf(data)); !errors.Is(err, ErrAlreadyExists) {
		t.Fatalf("Writer for a present blob: %v", err)
	}
	// Without a digest the writer cannot know; its commit drops the copy.
	w, err := s.Writer(ctx, "ref", ocispec.Descriptor{})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if desc, err := w.Commit(ctx); err != nil || desc.Digest != descOf(data).Digest {
		t.Fatalf("Commit = %+v, %v", desc, err)
	}
	assertBlob(t, s, descOf(data).Digest, data)
	assertClean(t, s)
}

func TestWriterLocked(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	data := testData(19, 100)
	w, err := s.Writer(ctx, "sha256:layer", descOf(data))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	_, err = s.Writer(ctx, "sha256:layer", descOf(data))
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), `ingest "sha256:layer" locked`) {
		t.Fatalf("second writer: %v", err)
	}
	// Another ref of the same blob is independent.
	w2, err := s.Writer(ctx, "other", descOf(data))
	if err != nil {
		t.Fatal(err)
	}
	w2.Abort()
	// WaitWriter gives up when ctx ends.
	tctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := s.WaitWriter(tctx, "sha256:layer", descOf(data)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitWriter = %v", err)
	}
}

func TestWaitWriterSeesCommit(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	data := testData(20, 1000)
	w, err := s.Writer(ctx, "ref", descOf(data))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.WaitWriter(ctx, "ref", descOf(data))
		done <- err
	}()
	time.Sleep(150 * time.Millisecond)
	w.Write(data)
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrAlreadyExists) {
		t.Fatalf("waiting writer: %v", err)
	}
	assertClean(t, s)
}

// TestWaitWriterAfterAbort covers the lock-on-a-removed-directory race: the
// waiting writer must end up with a fresh, live ingest directory.
func TestWaitWriterAfterAbort(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	data := testData(21, 1000)
	w, err := s.Writer(ctx, "ref", descOf(data))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data[:500])
	got := make(chan *Writer, 1)
	go func() {
		w2, err := s.WaitWriter(ctx, "ref", descOf(data))
		if err != nil {
			t.Error(err)
		}
		got <- w2
	}()
	time.Sleep(100 * time.Millisecond)
	w.Abort()
	w2 := <-got
	if w2 == nil {
		t.FailNow()
	}
	if w2.Offset() != 0 {
		t.Fatalf("Offset = %d after abort", w2.Offset())
	}
	w2.Write(data)
	if _, err := w2.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	assertBlob(t, s, descOf(data).Digest, data)
	assertClean(t, s)
}

func TestConcurrentIngestGoroutines(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	data := testData(22, 2<<20)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := ocispec.Descriptor{}
			if i%2 == 0 {
				want = descOf(data)
			}
			desc, err := s.Ingest(ctx, bytes.NewReader(data), want)
			if err == nil && desc.Digest != descOf(data).Digest {
				err = errors.New("wrong digest " + desc.Digest.String())
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if names := blobNames(t, s); len(names) != 1 {
		t.Fatalf("blobs = %v", names)
	}
	assertBlob(t, s, descOf(data).Digest, data)
	assertClean(t, s)
}
