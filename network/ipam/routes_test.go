package ipam

import "testing"

// TestHostRoutesReads reads the machine's routes (a netlink dump; nothing
// is changed) and checks the default route is left out.
func TestHostRoutesReads(t *testing.T) {
	routes, err := HostRoutes()
	if err != nil {
		t.Skipf("netlink route dump not available: %v", err)
	}
	for _, r := range routes {
		if r.Bits() == 0 || !r.Addr().Is4() || r.Masked() != r {
			t.Fatalf("bad route prefix %v", r)
		}
	}
}
