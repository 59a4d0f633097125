package logs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestWriterDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	p := filepath.Join(dir, "ctr-json.log")
	w, err := NewWriter(p, Options{MaxSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	line := []byte(strings.Repeat("d", 1000) + "\n")
	var werr error
	for range 200 {
		if werr = w.Write("stdout", line, t0); werr != nil {
			break
		}
	}
	if !errors.Is(werr, syscall.ENOSPC) {
		t.Fatalf("writing 200k to a 64k tmpfs: %v", werr)
	}
	// What landed reads back; a torn last entry is skipped.
	got := readAll(t, p, ReadOptions{Tail: -1})
	if len(got) == 0 {
		t.Fatal("nothing read back")
	}
	for _, r := range got {
		if r.Line != string(line) {
			t.Fatalf("bad line %.40q", r.Line)
		}
	}
	// Space again: the Writer goes on.
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	if err := w.Write("stdout", []byte("back\n"), t0); err != nil {
		t.Fatalf("after freeing space: %v", err)
	}
}
