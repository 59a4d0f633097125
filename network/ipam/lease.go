package ipam

import (
	"errors"
	"fmt"
	"net/netip"

	bolt "go.etcd.io/bbolt"
)

var (
	// ErrExhausted says a network has no free address left.
	ErrExhausted = errors.New("no available IPv4 addresses on this network's address pool")
	// ErrAddrInUse says a fixed address is leased to another container.
	ErrAddrInUse = errors.New("address already in use")
)

// Keys in a network's lease bucket.
var (
	bucketOwners = []byte("owners") // container id -> address (text)
	bucketAddrs  = []byte("addrs")  // address (text) -> container id
	keyLast      = []byte("last")   // the address leased last
)

// maxOwnerLen bounds a lease owner (a container id) so a bad caller cannot
// store huge keys.
const maxOwnerLen = 128

// Space is one network's address space. Its methods work on the bbolt
// bucket the caller keeps for the network's leases, inside the caller's
// transaction, so concurrent berth processes never lease one address
// twice (bbolt serialises write transactions with a file lock).
type Space struct {
	Subnet  netip.Prefix
	Gateway netip.Addr
}

// Allocate leases an address to owner: fixed if it is valid, else the
// next free one after the last leased (so a just-freed address is not
// handed out again at once). An owner that already holds a lease gets it
// back, which keeps a restart or a retried command idempotent.
func (s Space) Allocate(b *bolt.Bucket, owner string, fixed netip.Addr) (netip.Addr, error) {
	if err := checkOwner(owner); err != nil {
		return netip.Addr{}, err
	}
	owners, addrs, err := s.buckets(b)
	if err != nil {
		return netip.Addr{}, err
	}
	if cur := owners.Get([]byte(owner)); cur != nil {
		a, err := s.decode(cur)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("lease of %s: %w", short(owner), err)
		}
		if fixed.IsValid() && fixed != a {
			return netip.Addr{}, fmt.Errorf("container %s already has address %s on this network, not %s", short(owner), a, fixed)
		}
		return a, nil
	}
	var a netip.Addr
	if fixed.IsValid() {
		if err := checkHost(s.Subnet, s.Gateway, fixed); err != nil {
			return netip.Addr{}, err
		}
		if other := addrs.Get([]byte(fixed.String())); other != nil {
			return netip.Addr{}, fmt.Errorf("%w: %s is leased to container %s", ErrAddrInUse, fixed, short(string(other)))
		}
		a = fixed
	} else if a, err = s.next(b, addrs); err != nil {
		return netip.Addr{}, err
	}
	if err := owners.Put([]byte(owner), []byte(a.String())); err != nil {
		return netip.Addr{}, fmt.Errorf("store lease: %w", err)
	}
	if err := addrs.Put([]byte(a.String()), []byte(owner)); err != nil {
		return netip.Addr{}, fmt.Errorf("store lease: %w", err)
	}
	if !fixed.IsValid() {
		if err := b.Put(keyLast, []byte(a.String())); err != nil {
			return netip.Addr{}, fmt.Errorf("store lease: %w", err)
		}
	}
	return a, nil
}

// next finds the first free host address after the last leased one,
// wrapping around the subnet once.
func (s Space) next(b, addrs *bolt.Bucket) (netip.Addr, error) {
	first, last := u32(s.Subnet.Masked().Addr())+1, u32(Broadcast(s.Subnet))-1
	if first > last {
		return netip.Addr{}, ErrExhausted
	}
	start := first
	if prev, err := s.decode(b.Get(keyLast)); err == nil && u32(prev) < last {
		start = u32(prev) + 1
	}
	n := uint64(last-first) + 1
	for i, v := uint64(0), start; i < n; i++ {
		a := addr4(v)
		if a != s.Gateway && addrs.Get([]byte(a.String())) == nil {
			return a, nil
		}
		if v == last {
			v = first
		} else {
			v++
		}
	}
	return netip.Addr{}, fmt.Errorf("%w (subnet %s)", ErrExhausted, s.Subnet)
}

// Release frees owner's lease and returns its address; ok is false when
// owner held none (releasing twice is not an error).
func (s Space) Release(b *bolt.Bucket, owner string) (a netip.Addr, ok bool, err error) {
	owners, addrs := b.Bucket(bucketOwners), b.Bucket(bucketAddrs)
	if owners == nil || addrs == nil {
		return netip.Addr{}, false, nil
	}
	cur := owners.Get([]byte(owner))
	if cur == nil {
		return netip.Addr{}, false, nil
	}
	// Drop the reverse entry only if it still names this owner, so a
	// damaged record cannot free someone else's address.
	if o := addrs.Get(cur); o != nil && string(o) == owner {
		if err := addrs.Delete(cur); err != nil {
			return netip.Addr{}, false, fmt.Errorf("delete lease: %w", err)
		}
	}
	if err := owners.Delete([]byte(owner)); err != nil {
		return netip.Addr{}, false, fmt.Errorf("delete lease: %w", err)
	}
	a, _ = s.decode(cur)
	return a, true, nil
}

// Get returns owner's address, if it holds a lease.
func (s Space) Get(b *bolt.Bucket, owner string) (netip.Addr, bool, error) {
	owners := b.Bucket(bucketOwners)
	if owners == nil {
		return netip.Addr{}, false, nil
	}
	v := owners.Get([]byte(owner))
	if v == nil {
		return netip.Addr{}, false, nil
	}
	a, err := s.decode(v)
	if err != nil {
		return netip.Addr{}, false, fmt.Errorf("lease of %s: %w", short(owner), err)
	}
	return a, true, nil
}

// List returns every lease, container id to address. A damaged entry is
// an error naming it, not a silent skip.
func (s Space) List(b *bolt.Bucket) (map[string]netip.Addr, error) {
	out := map[string]netip.Addr{}
	owners := b.Bucket(bucketOwners)
	if owners == nil {
		return out, nil
	}
	err := owners.ForEach(func(k, v []byte) error {
		a, err := s.decode(v)
		if err != nil {
			return fmt.Errorf("lease of %s: %w", short(string(k)), err)
		}
		out[string(k)] = a
		return nil
	})
	return out, err
}

// buckets returns the lease sub-buckets, creating them in a write
// transaction.
func (s Space) buckets(b *bolt.Bucket) (owners, addrs *bolt.Bucket, err error) {
	if owners, err = b.CreateBucketIfNotExists(bucketOwners); err != nil {
		return nil, nil, fmt.Errorf("lease bucket: %w", err)
	}
	if addrs, err = b.CreateBucketIfNotExists(bucketAddrs); err != nil {
		return nil, nil, fmt.Errorf("lease bucket: %w", err)
	}
	return owners, addrs, nil
}

// decode parses a stored address and checks it belongs to the space.
func (s Space) decode(v []byte) (netip.Addr, error) {
	return DecodeLease(s.Subnet, s.Gateway, v)
}

// DecodeLease parses a lease address as stored on disk and checks that it
// is a host address of subnet other than gateway.
func DecodeLease(subnet netip.Prefix, gateway netip.Addr, v []byte) (netip.Addr, error) {
	if len(v) == 0 || len(v) > len("255.255.255.255") {
		return netip.Addr{}, fmt.Errorf("bad stored address %q", v)
	}
	a, err := netip.ParseAddr(string(v))
	if err != nil || !a.Is4() {
		return netip.Addr{}, fmt.Errorf("bad stored address %q", v)
	}
	if err := checkHost(subnet, gateway, a); err != nil {
		return netip.Addr{}, fmt.Errorf("stored address: %w", err)
	}
	return a, nil
}

func checkOwner(owner string) error {
	if owner == "" || len(owner) > maxOwnerLen {
		return fmt.Errorf("invalid lease owner %q: want a container id", owner)
	}
	return nil
}

// short is a container id as shown in messages.
func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
