package link

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
)

func linkCount(t *testing.T) int {
	t.Helper()
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	return len(links)
}

func ensureTestBridge(t *testing.T, name, gw string) {
	t.Helper()
	if err := EnsureBridge(BridgeConfig{Name: name, Gateway: netip.MustParsePrefix(gw)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := RemoveBridge(name); err != nil {
			t.Error(err)
		}
	})
}

func readSysctl(t *testing.T, parts ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{procSysNet}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func bridgeAddrs(t *testing.T, name string) []string {
	t.Helper()
	l, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := netlink.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range addrs {
		out = append(out, a.IPNet.String())
	}
	return out
}

func TestEnsureBridge(t *testing.T) {
	requirePrivate(t)
	before := linkCount(t)
	c := BridgeConfig{Name: "brtest0", Gateway: netip.MustParsePrefix("10.77.0.1/24"), MTU: 1400, RouteLocalnet: true}
	for i := 0; i < 2; i++ { // the second round must change nothing
		if err := EnsureBridge(c); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
	}
	l, err := netlink.LinkByName("brtest0")
	if err != nil {
		t.Fatal(err)
	}
	if l.Type() != "bridge" || l.Attrs().MTU != 1400 || l.Attrs().Flags&net.FlagUp == 0 {
		t.Fatalf("bridge: type %s mtu %d flags %v", l.Type(), l.Attrs().MTU, l.Attrs().Flags)
	}
	if m := l.Attrs().HardwareAddr; len(m) != 6 || m[0]&2 == 0 {
		t.Fatalf("bridge MAC %v is not locally administered", m)
	}
	if got := bridgeAddrs(t, "brtest0"); len(got) != 1 || got[0] != "10.77.0.1/24" {
		t.Fatalf("addresses %v", got)
	}
	if _, err := os.Stat(filepath.Join(procSysNet, "ipv6")); err == nil {
		if v := readSysctl(t, "ipv6", "conf", "brtest0", "disable_ipv6"); v != "1" {
			t.Fatalf("disable_ipv6 = %s", v)
		}
	}
	if v := readSysctl(t, "ipv4", "conf", "brtest0", "route_localnet"); v != "1" {
		t.Fatalf("route_localnet = %s", v)
	}

	// A new gateway replaces the old address, the MTU follows.
	c.Gateway = netip.MustParsePrefix("10.78.0.1/16")
	c.MTU = 0
	if err := EnsureBridge(c); err != nil {
		t.Fatal(err)
	}
	if got := bridgeAddrs(t, "brtest0"); len(got) != 1 || got[0] != "10.78.0.1/16" {
		t.Fatalf("addresses after change %v", got)
	}
	if l, _ := netlink.LinkByName("brtest0"); l.Attrs().MTU != DefaultMTU {
		t.Fatalf("MTU after change %d", l.Attrs().MTU)
	}

	if err := RemoveBridge("brtest0"); err != nil {
		t.Fatal(err)
	}
	if err := RemoveBridge("brtest0"); err != nil {
		t.Fatalf("second remove: %v", err)
	}
	if after := linkCount(t); after != before {
		t.Fatalf("links before %d after %d", before, after)
	}
}

func TestEnsureBridgeBadInput(t *testing.T) {
	requirePrivate(t)
	before := linkCount(t)
	gw := netip.MustParsePrefix("10.79.0.1/24")
	bad := []BridgeConfig{
		{Name: "", Gateway: gw},
		{Name: "br-0123456789abc", Gateway: gw}, // 16 chars
		{Name: "br/x", Gateway: gw},
		{Name: "br%d", Gateway: gw},
		{Name: "brbad", Gateway: netip.Prefix{}},
		{Name: "brbad", Gateway: netip.MustParsePrefix("fd00::1/64")},
		{Name: "brbad", Gateway: netip.MustParsePrefix("10.79.0.0/24")}, // network address
		{Name: "brbad", Gateway: netip.MustParsePrefix("10.79.0.1/31")},
		{Name: "brbad", Gateway: netip.MustParsePrefix("10.79.0.1/0")},
		{Name: "brbad", Gateway: gw, MTU: 67},
		{Name: "brbad", Gateway: gw, MTU: 70000},
	}
	for _, c := range bad {
		if err := EnsureBridge(c); err == nil {
			t.Errorf("EnsureBridge(%+v) accepted", c)
		}
	}
	// A link of another kind with the bridge's name is neither taken
	// over nor removed.
	other := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "dumtest0"}, PeerName: "dumtest1"}
	if err := netlink.LinkAdd(other); err != nil {
		t.Fatal(err)
	}
	defer netlink.LinkDel(other)
	if err := EnsureBridge(BridgeConfig{Name: "dumtest0", Gateway: gw}); err == nil || !strings.Contains(err.Error(), "veth") {
		t.Fatalf("EnsureBridge over a dummy: %v", err)
	}
	if err := RemoveBridge("dumtest0"); err == nil {
		t.Fatal("RemoveBridge removed a veth")
	}
	if _, err := netlink.LinkByName("dumtest0"); err != nil {
		t.Fatalf("veth gone: %v", err)
	}
	if err := RemoveBridge("bad/name"); err == nil {
		t.Fatal("RemoveBridge accepted a bad name")
	}
	netlink.LinkDel(other)
	if after := linkCount(t); after != before {
		t.Fatalf("links before %d after %d", before, after)
	}
}

// EnableIPForward runs here only because the whole test binary is in a
// namespace of its own (TestMain); ip_forward is per network namespace.
func TestEnableIPForward(t *testing.T) {
	requirePrivate(t)
	if err := EnableIPForward(); err != nil {
		t.Fatal(err)
	}
	if v := readSysctl(t, "ipv4", "ip_forward"); v != "1" {
		t.Fatalf("ip_forward = %s", v)
	}
}
