package ipam

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ErrNoPool says every subnet of every pool is taken.
var ErrNoPool = errors.New("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network")

// Pool is a base range cut into subnets of one size, as an entry of
// Docker's "default-address-pools".
type Pool struct {
	Base netip.Prefix
	Size int
}

// String shows the pool as base/size.
func (p Pool) String() string { return fmt.Sprintf("%s size %d", p.Base, p.Size) }

// DefaultPools are Docker 20.10's local-scope default address pools:
// 172.17-19.0.0/16, 172.20-31.0.0/16 (as three /14 bases), then
// 192.168.0.0/16 cut into /20s.
func DefaultPools() []Pool {
	mk := func(base string, size int) Pool { return Pool{Base: netip.MustParsePrefix(base), Size: size} }
	return []Pool{
		mk("172.17.0.0/16", 16), mk("172.18.0.0/16", 16), mk("172.19.0.0/16", 16),
		mk("172.20.0.0/14", 16), mk("172.24.0.0/14", 16), mk("172.28.0.0/14", 16),
		mk("192.168.0.0/16", 20),
	}
}

// ParsePool checks a pool given as base CIDR and subnet size.
func ParsePool(base string, size int) (Pool, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(base))
	if err != nil {
		return Pool{}, fmt.Errorf("invalid address pool base %q: not a CIDR", base)
	}
	if !p.Addr().Is4() {
		return Pool{}, fmt.Errorf("invalid address pool base %s: %w", p, ErrIPv6)
	}
	if m := p.Masked(); m != p {
		return Pool{}, fmt.Errorf("invalid address pool base %s: host bits set, it should be %s", p, m)
	}
	if size < p.Bits() || size > MaxPrefixLen {
		return Pool{}, fmt.Errorf("invalid address pool size %d for base %s: must be between %d and %d", size, p, p.Bits(), MaxPrefixLen)
	}
	for _, r := range reserved {
		if p.Overlaps(r) {
			return Pool{}, fmt.Errorf("invalid address pool base %s: overlaps reserved range %s", p, r)
		}
	}
	return Pool{Base: p, Size: size}, nil
}

// Choose returns the first subnet, in pool order, that overlaps none of
// taken (other networks' subnets and the host's routes). Its cost grows
// with len(taken), not with the pools' sizes: a candidate inside a larger
// taken range jumps past that range.
func Choose(pools []Pool, taken []netip.Prefix) (netip.Prefix, error) {
	for _, pool := range pools {
		if s, ok := chooseIn(pool, taken); ok {
			return s, nil
		}
	}
	return netip.Prefix{}, ErrNoPool
}

func chooseIn(pool Pool, taken []netip.Prefix) (netip.Prefix, bool) {
	if !pool.Base.Addr().Is4() || pool.Size < pool.Base.Bits() || pool.Size > 32 {
		return netip.Prefix{}, false
	}
	base := pool.Base.Masked()
	start, end := uint64(u32(base.Addr())), uint64(u32(Broadcast(base)))
	step := uint64(1) << uint(32-pool.Size)
	for c := start; c+step-1 <= end; {
		cand := netip.PrefixFrom(addr4(uint32(c)), pool.Size)
		next := c + step
		clash := false
		for _, t := range taken {
			if !t.Addr().Is4() || !t.Overlaps(cand) {
				continue
			}
			clash = true
			// Skip to the first candidate after the taken range.
			if after := uint64(u32(Broadcast(t.Masked()))) + 1; after > next {
				next = (after + step - 1) / step * step
			}
		}
		if !clash {
			return cand, true
		}
		c = next
	}
	return netip.Prefix{}, false
}

// Overlapping returns the first of others that overlaps p.
func Overlapping(p netip.Prefix, others []netip.Prefix) (netip.Prefix, bool) {
	for _, o := range others {
		if o.Overlaps(p) {
			return o, true
		}
	}
	return netip.Prefix{}, false
}
