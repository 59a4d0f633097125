package link

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// linksIn lists the link names in the namespace at path.
func linksIn(t *testing.T, path string) []string {
	t.Helper()
	var names []string
	err := Do(path, func() error {
		links, err := netlink.LinkList()
		for _, l := range links {
			names = append(names, l.Attrs().Name)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// defaultRoutes returns the gateways of IPv4 default routes at path.
func defaultRoutes(t *testing.T, path string) []string {
	t.Helper()
	var gws []string
	err := Do(path, func() error {
		routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
		for _, r := range routes {
			if r.Dst == nil || r.Dst.IP.IsUnspecified() {
				gws = append(gws, r.Gw.String())
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return gws
}

// echoOnce accepts one connection on l and echoes what it reads.
func echoOnce(l net.Listener) {
	c, err := l.Accept()
	if err != nil {
		return
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.Copy(c, c)
}

// roundTrip dials addr from the namespace at path (or the current one if
// path is empty) and checks the echo.
func roundTrip(t *testing.T, path, addr string) {
	t.Helper()
	dial := func() error {
		c, err := net.DialTimeout("tcp", addr, 3*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte("ping")); err != nil {
			return err
		}
		c.(*net.TCPConn).CloseWrite()
		b, err := io.ReadAll(c)
		if err != nil {
			return err
		}
		if string(b) != "ping" {
			return errors.New("echo mismatch: " + string(b))
		}
		return nil
	}
	var err error
	if path == "" {
		err = dial()
	} else {
		err = Do(path, dial)
	}
	if err != nil {
		t.Fatalf("round trip to %s from %q: %v", addr, path, err)
	}
}

// listenIn opens a TCP listener inside the namespace at path; the socket
// stays in that namespace after Do's thread is gone.
func listenIn(t *testing.T, path, addr string) net.Listener {
	t.Helper()
	var l net.Listener
	err := Do(path, func() error {
		var err error
		l, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestAttachConnectivity(t *testing.T) {
	requirePrivate(t)
	before := linkCount(t)
	ensureTestBridge(t, "brtest1", "10.88.0.1/24")
	a := newNetns(t, "a")
	b := newNetns(t, "b")
	gw := netip.MustParseAddr("10.88.0.1")
	epA, err := Attach(AttachConfig{Netns: a, Bridge: "brtest1", Address: netip.MustParsePrefix("10.88.0.2/24"), Gateway: gw})
	if err != nil {
		t.Fatal(err)
	}
	epB, err := Attach(AttachConfig{Netns: b, Bridge: "brtest1", IfName: "eth1", Address: netip.MustParsePrefix("10.88.0.3/24"), Gateway: gw, MTU: 1400})
	if err != nil {
		t.Fatal(err)
	}
	if epA.IfName != "eth0" || epA.MAC.String() != "02:42:0a:58:00:02" || !strings.HasPrefix(epA.HostIfName, "veth") {
		t.Fatalf("endpoint A %+v", epA)
	}
	if got := linksIn(t, b); len(got) != 2 || got[1] != "eth1" && got[0] != "eth1" {
		t.Fatalf("links in b: %v", got)
	}
	host, err := netlink.LinkByName(epB.HostIfName)
	if err != nil {
		t.Fatal(err)
	}
	br, _ := netlink.LinkByName("brtest1")
	if host.Attrs().MasterIndex != br.Attrs().Index || host.Attrs().MTU != 1400 || host.Attrs().Flags&net.FlagUp == 0 {
		t.Fatalf("host end %s: master %d mtu %d flags %v", epB.HostIfName, host.Attrs().MasterIndex, host.Attrs().MTU, host.Attrs().Flags)
	}
	if gws := defaultRoutes(t, a); len(gws) != 1 || gws[0] != "10.88.0.1" {
		t.Fatalf("default routes in a: %v", gws)
	}

	// b → a through the bridge, and a → the gateway (this namespace).
	la := listenIn(t, a, "10.88.0.2:0")
	go echoOnce(la)
	roundTrip(t, b, la.Addr().String())
	lg, err := net.Listen("tcp", "10.88.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	go echoOnce(lg)
	roundTrip(t, a, lg.Addr().String())

	for _, c := range []struct{ ns, ifn string }{{a, "eth0"}, {b, "eth1"}} {
		for i := 0; i < 2; i++ { // Detach is idempotent
			if err := Detach(c.ns, c.ifn); err != nil {
				t.Fatal(err)
			}
		}
		if got := linksIn(t, c.ns); len(got) != 1 || got[0] != "lo" {
			t.Fatalf("links left in %s: %v", c.ns, got)
		}
	}
	if _, err := netlink.LinkByName(epA.HostIfName); err == nil {
		t.Fatal("host end left after detach")
	}
	if err := RemoveBridge("brtest1"); err != nil {
		t.Fatal(err)
	}
	if after := linkCount(t); after != before {
		t.Fatalf("links before %d after %d", before, after)
	}
}

// An --internal network: no default route, the subnet still works.
func TestAttachNoGateway(t *testing.T) {
	requirePrivate(t)
	ensureTestBridge(t, "brtest2", "10.89.0.1/24")
	a := newNetns(t, "a")
	mac := net.HardwareAddr{0x02, 0, 0, 0, 0, 0x42}
	ep, err := Attach(AttachConfig{Netns: a, Bridge: "brtest2", Address: netip.MustParsePrefix("10.89.0.5/24"), MAC: mac})
	if err != nil {
		t.Fatal(err)
	}
	defer Detach(a, ep.IfName)
	if gws := defaultRoutes(t, a); len(gws) != 0 {
		t.Fatalf("default routes on an internal network: %v", gws)
	}
	err = Do(a, func() error {
		l, err := netlink.LinkByName("eth0")
		if err != nil {
			return err
		}
		if l.Attrs().HardwareAddr.String() != mac.String() {
			t.Errorf("MAC %v, want %v", l.Attrs().HardwareAddr, mac)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	lg, err := net.Listen("tcp", "10.89.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	go echoOnce(lg)
	roundTrip(t, a, lg.Addr().String())
}

func TestAttachFailures(t *testing.T) {
	requirePrivate(t)
	ensureTestBridge(t, "brtest3", "10.90.0.1/24")
	ns := newNetns(t, "f")
	plain := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(plain, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	before := linkCount(t)
	addr := netip.MustParsePrefix("10.90.0.2/24")
	gw := netip.MustParseAddr("10.90.0.1")
	bad := map[string]AttachConfig{
		"bridge missing":     {Netns: ns, Bridge: "brnone", Address: addr},
		"netns missing":      {Netns: filepath.Join(t.TempDir(), "gone"), Bridge: "brtest3", Address: addr},
		"netns plain file":   {Netns: plain, Bridge: "brtest3", Address: addr},
		"bad ifname":         {Netns: ns, Bridge: "brtest3", IfName: "eth/0", Address: addr},
		"ifname lo":          {Netns: ns, Bridge: "brtest3", IfName: "lo", Address: addr},
		"template ifname":    {Netns: ns, Bridge: "brtest3", IfName: "eth%d", Address: addr},
		"long host name":     {Netns: ns, Bridge: "brtest3", HostIfName: "veth0123456789ab", Address: addr},
		"bad bridge name":    {Netns: ns, Bridge: "", Address: addr},
		"no address":         {Netns: ns, Bridge: "brtest3"},
		"ipv6 address":       {Netns: ns, Bridge: "brtest3", Address: netip.MustParsePrefix("fd00::2/64")},
		"gateway outside":    {Netns: ns, Bridge: "brtest3", Address: addr, Gateway: netip.MustParseAddr("10.91.0.1")},
		"gateway is address": {Netns: ns, Bridge: "brtest3", Address: addr, Gateway: addr.Addr()},
		"multicast MAC":      {Netns: ns, Bridge: "brtest3", Address: addr, MAC: net.HardwareAddr{1, 0, 0, 0, 0, 1}},
		"short MAC":          {Netns: ns, Bridge: "brtest3", Address: addr, MAC: net.HardwareAddr{2, 0}},
		"network address":    {Netns: ns, Bridge: "brtest3", Address: netip.MustParsePrefix("10.90.0.0/24")},
		"broadcast address":  {Netns: ns, Bridge: "brtest3", Address: netip.MustParsePrefix("10.90.0.255/24")},
		"bad MTU":            {Netns: ns, Bridge: "brtest3", Address: addr, MTU: 20},
		"bridge is loopback": {Netns: ns, Bridge: "lo", Address: addr},
	}
	for name, c := range bad {
		if _, err := Attach(c); err == nil {
			t.Errorf("%s: accepted", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	// The interface name is taken in the container: nothing is left.
	ep, err := Attach(AttachConfig{Netns: ns, Bridge: "brtest3", Address: addr, Gateway: gw})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Attach(AttachConfig{Netns: ns, Bridge: "brtest3", Address: netip.MustParsePrefix("10.90.0.3/24")}); err == nil || !strings.Contains(err.Error(), "eth0") {
		t.Fatalf("second eth0: %v", err)
	}
	// A step after the pair exists fails: the pair is deleted.
	c := AttachConfig{Netns: ns, Bridge: "brtest3", IfName: "eth1", Address: netip.MustParsePrefix("10.90.0.4/24"),
		afterCreate: func(string) error { return errors.New("injected") }}
	if _, err := Attach(c); err == nil || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("injected failure: %v", err)
	}
	if got := linksIn(t, ns); len(got) != 2 {
		t.Fatalf("links in netns after failures: %v", got)
	}
	if err := Detach(ns, ep.IfName); err != nil {
		t.Fatal(err)
	}
	if after := linkCount(t); after != before {
		t.Fatalf("links before %d after %d", before, after)
	}
}

func TestDetachIdempotent(t *testing.T) {
	requirePrivate(t)
	dir := t.TempDir()
	if err := Detach(filepath.Join(dir, "missing"), "eth0"); err != nil {
		t.Fatalf("missing netns: %v", err)
	}
	stale := filepath.Join(dir, "stale")
	if err := os.WriteFile(stale, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Detach(stale, "eth0"); err != nil {
		t.Fatalf("stale netns file: %v", err)
	}
	ns := newNetns(t, "d")
	if err := Detach(ns, "eth0"); err != nil {
		t.Fatalf("no interface: %v", err)
	}
	if err := Detach(ns, "lo"); err == nil {
		t.Fatal("Detach deleted/accepted lo")
	}
	if err := Detach(ns, "bad/name"); err == nil {
		t.Fatal("bad name accepted")
	}
	if err := DetachHost("vethnone000"); err != nil {
		t.Fatalf("missing host end: %v", err)
	}
	if err := DetachHost("lo"); err == nil {
		t.Fatal("DetachHost accepted lo")
	}

	// Detaching by the host end removes the container end too.
	ensureTestBridge(t, "brtest4", "10.92.0.1/24")
	ep, err := Attach(AttachConfig{Netns: ns, Bridge: "brtest4", Address: netip.MustParsePrefix("10.92.0.2/24")})
	if err != nil {
		t.Fatal(err)
	}
	if err := DetachHost(ep.HostIfName); err != nil {
		t.Fatal(err)
	}
	if got := linksIn(t, ns); len(got) != 1 {
		t.Fatalf("links left: %v", got)
	}
}

// Removing the namespace file while a veth is in it (the container is
// gone) deletes the pair once no one holds the namespace.
func TestRemoveNetnsDropsVeth(t *testing.T) {
	requirePrivate(t)
	ensureTestBridge(t, "brtest5", "10.93.0.1/24")
	before := linkCount(t)
	p := filepath.Join(t.TempDir(), "ns")
	if err := CreateNetns(p); err != nil {
		t.Fatal(err)
	}
	defer RemoveNetns(p)
	ep, err := Attach(AttachConfig{Netns: p, Bridge: "brtest5", Address: netip.MustParsePrefix("10.93.0.2/24")})
	if err != nil {
		t.Fatal(err)
	}
	if err := RemoveNetns(p); err != nil {
		t.Fatal(err)
	}
	// The kernel tears namespaces down asynchronously.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := netlink.LinkByName(ep.HostIfName); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("host end still there 10 s after the namespace went")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if after := linkCount(t); after != before {
		t.Fatalf("links before %d after %d", before, after)
	}
	if err := Detach(p, "eth0"); err != nil {
		t.Fatalf("detach after removal: %v", err)
	}
}

// Many containers attached and detached at once leave nothing behind.
func TestManyLifecycles(t *testing.T) {
	requirePrivate(t)
	ensureTestBridge(t, "brtest6", "10.94.0.1/24")
	before := linkCount(t)
	dir := t.TempDir()
	const workers, rounds = 4, 10
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func(w int) {
			errs <- func() error {
				for r := 0; r < rounds; r++ {
					p := filepath.Join(dir, fmt.Sprintf("ns%d-%d", w, r))
					if err := CreateNetns(p); err != nil {
						return err
					}
					addr := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 94, 0, byte(10 + w*rounds + r)}), 24)
					_, err := Attach(AttachConfig{Netns: p, Bridge: "brtest6", Address: addr, Gateway: netip.MustParseAddr("10.94.0.1")})
					if err == nil {
						err = Detach(p, "eth0")
					}
					if rerr := RemoveNetns(p); err == nil {
						err = rerr
					}
					if err != nil {
						return err
					}
				}
				return nil
			}()
		}(w)
	}
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if after := linkCount(t); after != before {
		t.Fatalf("links before %d after %d", before, after)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("files left: %d", len(ents))
	}
}
