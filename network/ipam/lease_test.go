package ipam

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// leaseDB opens a bbolt file with one network bucket and runs fn in a
// write transaction on it.
func leaseDB(t *testing.T) func(fn func(b *bolt.Bucket) error) error {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "l.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return func(fn func(b *bolt.Bucket) error) error {
		return db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("net"))
			if err != nil {
				return err
			}
			return fn(b)
		})
	}
}

func space(sub, gw string) Space {
	return Space{Subnet: netip.MustParsePrefix(sub), Gateway: netip.MustParseAddr(gw)}
}

// TestAllocateSequenceAndExhaustion fills a /29 (network, gateway and
// broadcast skipped), then checks exhaustion, release and no quick reuse.
func TestAllocateSequenceAndExhaustion(t *testing.T) {
	update := leaseDB(t)
	s := space("10.9.0.0/29", "10.9.0.1")
	var got []string
	for i := 0; i < 5; i++ {
		if err := update(func(b *bolt.Bucket) error {
			a, err := s.Allocate(b, fmt.Sprintf("c%d", i), netip.Addr{})
			got = append(got, a.String())
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(got, " ") != "10.9.0.2 10.9.0.3 10.9.0.4 10.9.0.5 10.9.0.6" {
		t.Fatalf("allocated %v", got)
	}
	err := update(func(b *bolt.Bucket) error { _, err := s.Allocate(b, "c9", netip.Addr{}); return err })
	if !errors.Is(err, ErrExhausted) || !strings.Contains(err.Error(), "10.9.0.0/29") {
		t.Fatalf("exhausted: %v", err)
	}
	// The same owner again gets its address back.
	if err := update(func(b *bolt.Bucket) error {
		a, err := s.Allocate(b, "c1", netip.Addr{})
		if err == nil && a.String() != "10.9.0.3" {
			err = fmt.Errorf("again: %v", a)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// Free two; the next one comes after the last leased, wrapping.
	if err := update(func(b *bolt.Bucket) error {
		for _, o := range []string{"c1", "c3", "c3", "nobody"} {
			if _, _, err := s.Release(b, o); err != nil {
				return err
			}
		}
		a, err := s.Allocate(b, "c5", netip.Addr{})
		if err == nil && a.String() != "10.9.0.3" {
			err = fmt.Errorf("after release: %v", a)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := update(func(b *bolt.Bucket) error {
		m, err := s.List(b)
		if err == nil && (len(m) != 4 || m["c5"].String() != "10.9.0.3") {
			err = fmt.Errorf("list %v", m)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestAllocateFixed checks --ip: taken, gateway, outside, and an owner
// asking for a second, different address.
func TestAllocateFixed(t *testing.T) {
	update := leaseDB(t)
	s := space("10.9.0.0/24", "10.9.0.1")
	ip := func(v string) netip.Addr { return netip.MustParseAddr(v) }
	alloc := func(owner string, fixed netip.Addr) (netip.Addr, error) {
		var a netip.Addr
		err := update(func(b *bolt.Bucket) error {
			var err error
			a, err = s.Allocate(b, owner, fixed)
			return err
		})
		return a, err
	}
	if a, err := alloc("a", ip("10.9.0.50")); err != nil || a.String() != "10.9.0.50" {
		t.Fatalf("fixed: %v %v", a, err)
	}
	if _, err := alloc("b", ip("10.9.0.50")); !errors.Is(err, ErrAddrInUse) || !strings.Contains(err.Error(), "leased to container a") {
		t.Fatalf("taken: %v", err)
	}
	for _, bad := range []struct{ ip, want string }{{"10.9.0.1", "gateway"}, {"10.9.1.1", "not in"}, {"10.9.0.255", "broadcast"}} {
		if _, err := alloc("b", ip(bad.ip)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Fatalf("%s: %v", bad.ip, err)
		}
	}
	if _, err := alloc("a", ip("10.9.0.51")); err == nil || !strings.Contains(err.Error(), "already has address 10.9.0.50") {
		t.Fatalf("second fixed: %v", err)
	}
	// A fixed address does not move the cursor; dynamic ones skip it.
	for i := 2; i <= 50; i++ {
		a, err := alloc(fmt.Sprint("d", i), netip.Addr{})
		if err != nil || a == ip("10.9.0.50") {
			t.Fatalf("dynamic %d: %v %v", i, a, err)
		}
	}
	if _, err := alloc("", netip.Addr{}); err == nil {
		t.Fatal("empty owner accepted")
	}
}

// TestDamagedLease checks a stored address that is garbage or outside
// the subnet is an error, never handed on.
func TestDamagedLease(t *testing.T) {
	update := leaseDB(t)
	s := space("10.9.0.0/24", "10.9.0.1")
	err := update(func(b *bolt.Bucket) error {
		o, err := b.CreateBucketIfNotExists(bucketOwners)
		if err != nil {
			return err
		}
		if err := o.Put([]byte("x"), []byte("10.8.0.5")); err != nil {
			return err
		}
		if _, _, err := s.Get(b, "x"); err == nil {
			return errors.New("outside address accepted")
		}
		if _, err := s.List(b); err == nil {
			return errors.New("list accepted damage")
		}
		if _, err := s.Allocate(b, "x", netip.Addr{}); err == nil {
			return errors.New("allocate returned a damaged lease")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func FuzzDecodeLease(f *testing.F) {
	f.Add([]byte("10.9.0.5"))
	f.Add([]byte("10.9.0.1"))
	f.Add([]byte("::1"))
	f.Add([]byte(""))
	sub, gw := netip.MustParsePrefix("10.9.0.0/24"), netip.MustParseAddr("10.9.0.1")
	f.Fuzz(func(t *testing.T, v []byte) {
		a, err := DecodeLease(sub, gw, v)
		if err != nil {
			return
		}
		if !sub.Contains(a) || a == gw || a == sub.Addr() || a == Broadcast(sub) {
			t.Fatalf("accepted %v", a)
		}
	})
}
