package network

import (
	"fmt"
	"net/netip"
	"testing"
)

// BenchmarkAllocateRelease measures one lease and its release, each a
// write transaction on networks.db.
func BenchmarkAllocateRelease(b *testing.B) {
	s, err := Open(b.TempDir(), Options{Routes: func() ([]netip.Prefix, error) { return nil, nil }})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Create(CreateOptions{Name: "b", Subnet: "10.90.0.0/16"}); err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		c := fmt.Sprint("c", i)
		if _, _, err := s.Allocate("b", c, netip.Addr{}); err != nil {
			b.Fatal(err)
		}
		if err := s.Release("b", c); err != nil {
			b.Fatal(err)
		}
	}
}
