package network

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"berth/network/ipam"
)

// checkUnique fails if two leases share an address or one sits outside
// the network's host range.
func checkUnique(t *testing.T, s *Store, r *Record, want int) {
	t.Helper()
	leases, err := s.Leases()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[netip.Addr]string{}
	n := 0
	for _, l := range leases {
		if l.Network != r.ID {
			continue
		}
		n++
		if prev, ok := seen[l.Addr]; ok {
			t.Fatalf("address %s leased to %s and %s", l.Addr, prev, l.Container)
		}
		if !r.Subnet.Contains(l.Addr) || l.Addr == r.Gateway {
			t.Fatalf("bad lease %v", l)
		}
		seen[l.Addr] = l.Container
	}
	if n != want {
		t.Fatalf("%d leases, want %d", n, want)
	}
}

// TestAllocateParallelGoroutines allocates from several goroutines, each
// with its own Store on the same root (as separate commands would).
func TestAllocateParallelGoroutines(t *testing.T) {
	root := t.TempDir()
	s := openAt(t, root)
	r, err := s.Create(CreateOptions{Name: "p", Subnet: "10.70.0.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 6, 8
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ws := openAt(t, root)
			for i := 0; i < each; i++ {
				if _, _, err := ws.Allocate("p", fmt.Sprintf("g%d-%d", w, i), netip.Addr{}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkUnique(t, s, r, workers*each)
}

// TestAllocateHelperProcess is the child of TestAllocateParallelProcesses.
func TestAllocateHelperProcess(t *testing.T) {
	root := os.Getenv("BERTH_NET_TEST_ROOT")
	if root == "" {
		t.Skip("helper process only")
	}
	s, err := Open(root, Options{Routes: func() ([]netip.Prefix, error) { return nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if _, _, err := s.Allocate("p", fmt.Sprintf("%s-%d", os.Getenv("BERTH_NET_TEST_TAG"), i), netip.Addr{}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAllocateParallelProcesses allocates from several processes at once
// and checks no address is leased twice.
func TestAllocateParallelProcesses(t *testing.T) {
	root := t.TempDir()
	s := openAt(t, root)
	r, err := s.Create(CreateOptions{Name: "p", Subnet: "10.71.0.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	const procs = 4
	var cmds []*exec.Cmd
	for p := 0; p < procs; p++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAllocateHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), "BERTH_NET_TEST_ROOT="+root, fmt.Sprintf("BERTH_NET_TEST_TAG=p%d", p))
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Log(out.String())
			}
		})
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child: %v", err)
		}
	}
	checkUnique(t, s, r, procs*10)
}

// TestLeaseLifecycle covers fixed addresses, exhaustion, release, rm of a
// network in use, and reconcile.
func TestLeaseLifecycle(t *testing.T) {
	s := open(t)
	r, err := s.Create(CreateOptions{Name: "small", Subnet: "10.72.0.0/29", Gateway: "10.72.0.6"})
	if err != nil {
		t.Fatal(err)
	}
	fixed, err := ipam.ParseIP(r.Subnet, r.Gateway, "10.72.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if a, _, err := s.Allocate("small", "c-fixed", fixed); err != nil || a != fixed {
		t.Fatalf("fixed: %v %v", a, err)
	}
	if _, _, err := s.Allocate("small", "c-other", fixed); !errors.Is(err, ipam.ErrAddrInUse) {
		t.Fatalf("fixed taken: %v", err)
	}
	var got []string
	for _, c := range []string{"c2", "c3", "c4", "c5"} {
		a, _, err := s.Allocate(r.ID[:10], c, netip.Addr{})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a.String())
	}
	if strings.Join(got, " ") != "10.72.0.2 10.72.0.3 10.72.0.4 10.72.0.5" {
		t.Fatalf("got %v", got)
	}
	_, _, err = s.Allocate("small", "c6", netip.Addr{})
	if !errors.Is(err, ipam.ErrExhausted) || !strings.Contains(err.Error(), "network small") {
		t.Fatalf("exhausted: %v", err)
	}
	if a, ok, err := s.LeaseOf("small", "c3"); err != nil || !ok || a.String() != "10.72.0.3" {
		t.Fatalf("LeaseOf: %v %v %v", a, ok, err)
	}
	if _, err := s.Remove("small"); !errors.Is(err, ErrInUse) {
		t.Fatalf("rm in use: %v", err)
	}
	if err := s.Release("small", "c3"); err != nil {
		t.Fatal(err)
	}
	if err := s.Release("small", "c3"); err != nil {
		t.Fatalf("release twice: %v", err)
	}
	if err := s.Release("gone-network", "c3"); err != nil {
		t.Fatalf("release on missing network: %v", err)
	}
	// A second network holding the same container, for ReleaseAll.
	if _, err := s.Create(CreateOptions{Name: "other", Subnet: "10.73.0.0/24"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Allocate("other", "c2", netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	freed, err := s.ReleaseAll("c2")
	if err != nil || len(freed) != 2 {
		t.Fatalf("ReleaseAll: %v %v", freed, err)
	}
	alive := map[string]bool{"c4": true}
	freed, err = s.Reconcile(func(id string) bool { return !alive[id] })
	if err != nil {
		t.Fatal(err)
	}
	if len(freed) != 2 { // c-fixed, c5
		t.Fatalf("reconcile freed %v", freed)
	}
	checkUnique(t, s, r, 1)
	if err := s.Release("small", "c4"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Remove("small"); err != nil {
		t.Fatalf("rm after release: %v", err)
	}
	if leases, _ := s.Leases(); len(leases) != 0 {
		t.Fatalf("leftover leases %v", leases)
	}
}
