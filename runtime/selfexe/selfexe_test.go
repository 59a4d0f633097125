package selfexe

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// helperEnv makes the test binary, started from a handle under test, wait
// on stdin instead of running the tests.
const helperEnv = "BERTH_SELFEXE_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		// Stay alive until the parent closes stdin, so it can open our
		// /proc/<pid>/exe meanwhile.
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// ownSum returns the sha256 of the running binary on disk.
func ownSum(t *testing.T) [32]byte {
	t.Helper()
	b, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// handleSum returns the sha256 of what f holds, read from offset 0.
func handleSum(t *testing.T, f *os.File) [32]byte {
	t.Helper()
	r, err := os.Open("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil {
		t.Fatalf("reopen %s for reading: %v", f.Name(), err)
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// refuseWrites tries what CVE-2019-5736 did with the handle on the
// runtime's binary: reopen it for writing through its /proc/self/fd magic
// link (the O_PATH-then-reopen trick), and write and truncate through the
// handle itself. Nothing of that may change the content.
func refuseWrites(t *testing.T, f *os.File) {
	t.Helper()
	before := handleSum(t, f)
	link := "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	for _, flags := range []int{os.O_WRONLY, os.O_RDWR, os.O_WRONLY | os.O_APPEND, os.O_WRONLY | os.O_TRUNC} {
		w, err := os.OpenFile(link, flags, 0)
		if err != nil {
			continue
		}
		// A sealed memfd may be opened for writing; the seals must then
		// refuse the write itself.
		if _, err := w.Write([]byte("pwned")); err == nil {
			t.Errorf("reopened %s with flags %#x and wrote to it", f.Name(), flags)
		}
		if err := w.Truncate(0); err == nil {
			t.Errorf("reopened %s with flags %#x and truncated it", f.Name(), flags)
		}
		w.Close()
	}
	if _, err := unix.Pwrite(int(f.Fd()), []byte("pwned"), 0); err == nil {
		t.Errorf("wrote through %s", f.Name())
	}
	if err := unix.Ftruncate(int(f.Fd()), 0); err == nil {
		t.Errorf("truncated %s", f.Name())
	}
	if after := handleSum(t, f); after != before {
		t.Fatalf("content of %s changed", f.Name())
	}
}

// refuseWritesThroughChild starts a process from f, as the runtime starts
// a container's init, takes an O_PATH handle on its /proc/<pid>/exe while
// it runs, and after it exited (when ETXTBSY no longer protects the file)
// tries to reopen that handle for writing, as the CVE-2019-5736 exploit
// did.
func refuseWritesThroughChild(t *testing.T, f *os.File) {
	t.Helper()
	cmd := exec.Command("/proc/self/fd/"+strconv.Itoa(int(f.Fd())), "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start a process from %s: %v", f.Name(), err)
	}
	exe, err := os.OpenFile("/proc/"+strconv.Itoa(cmd.Process.Pid)+"/exe", unix.O_PATH|unix.O_CLOEXEC, 0)
	stdin.Close()
	if werr := cmd.Wait(); werr != nil {
		t.Fatalf("helper process: %v", werr)
	}
	if err != nil {
		t.Fatalf("open /proc/<pid>/exe of the helper: %v", err)
	}
	defer exe.Close()
	w, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(int(exe.Fd())), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return
	}
	defer w.Close()
	if _, err := w.Write([]byte("pwned")); err == nil {
		t.Fatalf("wrote to the binary through /proc/<pid>/exe of a process started from %s", f.Name())
	}
}

// TestCVE_2019_5736_ReadOnlyMount checks the overlayfs view of the runtime's binary
// (CVE-2019-5736): it has the binary's content, and neither the handle nor
// /proc/<pid>/exe of a process started from it can be opened for writing.
func TestCVE_2019_5736_ReadOnlyMount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: fsopen(overlay) needs CAP_SYS_ADMIN")
	}
	sum := ownSum(t)
	f, err := ReadOnlyMount()
	if err != nil {
		t.Fatalf("ReadOnlyMount: %v", err)
	}
	defer f.Close()
	if got := handleSum(t, f); got != sum {
		t.Fatal("read-only view differs from the binary")
	}
	link := "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	for _, flags := range []int{os.O_WRONLY, os.O_RDWR, os.O_WRONLY | os.O_APPEND} {
		w, err := os.OpenFile(link, flags, 0)
		if err == nil {
			w.Close()
			t.Fatalf("read-only view opened with flags %#x", flags)
		}
		if !errors.Is(err, unix.EROFS) {
			t.Errorf("open for writing with flags %#x: %v, want EROFS", flags, err)
		}
	}
	refuseWrites(t, f)
	refuseWritesThroughChild(t, f)
	if got := ownSum(t); got != sum {
		t.Fatal("the binary on disk changed")
	}
}

// TestCVE_2019_5736_CloneSealed checks the memfd fallback (CVE-2019-5736): a full copy
// of the binary carrying every seal, so no write, truncation, growth or
// new seal is possible, through the handle or a process started from it.
func TestCVE_2019_5736_CloneSealed(t *testing.T) {
	sum := ownSum(t)
	f, err := Clone()
	if err != nil {
		t.Fatalf("Clone: %v", err)
	}
	defer f.Close()
	sealed, err := IsSealed(f)
	if err != nil {
		t.Fatal(err)
	}
	if !sealed {
		t.Fatal("memfd copy is not sealed")
	}
	if got := handleSum(t, f); got != sum {
		t.Fatal("memfd copy differs from the binary")
	}
	// F_SEAL_SEAL: the seals cannot be changed any more.
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_FUTURE_WRITE); !errors.Is(err, unix.EPERM) {
		t.Errorf("adding a seal: %v, want EPERM", err)
	}
	if _, err := f.WriteAt([]byte("pwned"), 0); err == nil {
		t.Error("wrote to the sealed copy")
	}
	if _, err := f.WriteAt([]byte("pwned"), 1<<40); err == nil {
		t.Error("grew the sealed copy")
	}
	if _, err := unix.Mmap(int(f.Fd()), 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err == nil {
		t.Error("mapped the sealed copy writable and shared")
	}
	refuseWrites(t, f)
	refuseWritesThroughChild(t, f)
	if got := ownSum(t); got != sum {
		t.Fatal("the binary on disk changed")
	}
}

// TestCVE_2019_5736_OpenNotWritable checks what the runtime actually uses: whichever
// kind Open returns, it cannot be written through.
func TestCVE_2019_5736_OpenNotWritable(t *testing.T) {
	f, err := Open()
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	refuseWrites(t, f)
	if got, want := handleSum(t, f), ownSum(t); !bytes.Equal(got[:], want[:]) {
		t.Fatal("handle differs from the binary")
	}
}

// TestOpenWith: the other binary comes through the same read-only view as
// the running one (CVE-2019-5736: no write reaches it); a missing one is
// nil, and a name with a slash is refused.
func TestOpenWith(t *testing.T) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	// A file of this test's own, beside the test binary.
	name := "selfexe-openwith-" + strconv.Itoa(os.Getpid())
	path := filepath.Join(filepath.Dir(exe), name)
	content := []byte("#!/bin/sh\nexit 0\n")
	if err := os.WriteFile(path, content, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(path)

	own, other, err := OpenWith(name)
	if err != nil {
		t.Fatalf("OpenWith: %v", err)
	}
	defer own.Close()
	if other == nil {
		t.Fatal("OpenWith: no handle on the binary beside")
	}
	defer other.Close()
	if got := handleSum(t, other); got != sha256.Sum256(content) {
		t.Error("other handle: not the binary beside")
	}
	refuseWrites(t, other)
	if b, _ := os.ReadFile(path); !bytes.Equal(b, content) {
		t.Errorf("the binary beside changed: %q", b)
	}

	own2, missing, err := OpenWith(name + "-missing")
	if err != nil || missing != nil {
		t.Errorf("missing binary: %v, %v; want no handle and no error", missing, err)
	}
	if own2 != nil {
		own2.Close()
	}
	if _, _, err := OpenWith("../" + name); err == nil {
		t.Error("a name with a slash was accepted")
	}
	// A symlink's target would be outside the read-only view.
	link := name + "-link"
	if err := os.Symlink(path, filepath.Join(filepath.Dir(exe), link)); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(filepath.Join(filepath.Dir(exe), link))
	own3, viaLink, err := OpenWith(link)
	if err != nil || viaLink != nil {
		t.Errorf("symlink: %v, %v; want no handle and no error", viaLink, err)
	}
	if own3 != nil {
		own3.Close()
	}
}
