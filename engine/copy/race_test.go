package copy

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestSwapRace is the CVE-2018-15664 scenario: while copies run in both
// directions, a goroutine (the container) keeps swapping a directory of
// the root with symlinks that point out of it, to the sentinel
// directory. No copy may read the sentinel files or write beside them.
func TestSwapRace(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	ctx := context.Background()
	work := filepath.Join(s.rootfs, "work")
	d := filepath.Join(work, "d")
	must(t, os.MkdirAll(filepath.Join(d, "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(d, "secret"), []byte("inside"), 0o644))
	must(t, os.WriteFile(filepath.Join(d, "sub", "secret"), []byte("inside"), 0o644))
	// The container's weapons: symlinks that, followed on the host, lead
	// to the sentinel directory, exchanged atomically with the real
	// directories (renameat2 RENAME_EXCHANGE, as in the CVE's exploit).
	sub := filepath.Join(d, "sub")
	targets := map[string][]string{
		d:   {s.outside, "../../outside"},
		sub: {s.outside, "../../../outside", "/../../../../" + s.outside},
	}
	for v, ts := range targets {
		must(t, os.Symlink(ts[0], v+".link"))
	}
	host := t.TempDir()
	must(t, os.WriteFile(filepath.Join(host, "payload"), []byte("payload"), 0o644))
	var up bytes.Buffer
	src, err := TarHost(ctx, &up, filepath.Join(host, "payload"), false)
	must(t, err)
	payload := up.Bytes()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var swaps atomic.Int64
	errc := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			victim := d
			if i%2 == 1 {
				victim = sub
			}
			if i%10 < 2 {
				// Now and then a new target (the link is at .link
				// between rounds).
				ts := targets[victim]
				_ = os.Remove(victim + ".link")
				_ = os.Symlink(ts[(i/10)%len(ts)], victim+".link")
			}
			if err := unix.Renameat2(unix.AT_FDCWD, victim, unix.AT_FDCWD, victim+".link", unix.RENAME_EXCHANGE); err != nil {
				continue
			}
			runtime.Gosched()
			if err := unix.Renameat2(unix.AT_FDCWD, victim, unix.AT_FDCWD, victim+".link", unix.RENAME_EXCHANGE); err != nil {
				errc <- fmt.Errorf("%s (round %d): %w", victim, i, err)
				return
			}
			swaps.Add(1)
		}
	}()

	deadline := time.Now().Add(2 * time.Second)
	var copies, okCopies int
	for time.Now().Before(deadline) {
		for _, p := range []string{"/work/d/secret", "/work/d", "/work/d/.", "/work/d/sub/secret", "/work/d/sub/"} {
			var buf bytes.Buffer
			_, err := FromContainer(ctx, s.rootfs, p, &buf)
			copies++
			if err == nil {
				okCopies++
			}
			if bytes.Contains(buf.Bytes(), []byte(sentinel)) {
				close(stop)
				wg.Wait()
				t.Fatalf("copy of %s read the sentinel outside the root", p)
			}
		}
		for _, p := range []string{"/work/d", "/work/d/sub", "/work/d/sub/new", "/work/d/"} {
			err := ToContainer(ctx, s.rootfs, p, bytes.NewReader(payload), ToOptions{Source: &src, NoOverwriteDirNonDir: true})
			copies++
			if err == nil {
				okCopies++
			}
		}
	}
	close(stop)
	wg.Wait()
	select {
	case err := <-errc:
		t.Fatalf("swapper: %v", err)
	default:
	}
	t.Logf("%d copies (%d succeeded) against %d swaps", copies, okCopies, swaps.Load())
	if swaps.Load() == 0 || okCopies == 0 {
		t.Fatal("the race did not run")
	}
	s.check(t)
}
