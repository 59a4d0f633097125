package nft

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// run runs a command of the test's own namespace setup.
func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func ruleset(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("nft", "list", "ruleset").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list ruleset: %v\n%s", err, out)
	}
	return string(out)
}

func newFirewall(t *testing.T) *Firewall {
	t.Helper()
	needNetns(t)
	f, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.RemoveAll(); err != nil {
			t.Error(err)
		}
	})
	return f
}

func count(t *testing.T, f *Firewall, owner string) int {
	t.Helper()
	rules, err := f.List()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range rules {
		if owner == "" || r.Owner == owner {
			n++
		}
	}
	return n
}

func TestRulesAddRemove(t *testing.T) {
	f := newFirewall(t)
	before := ruleset(t)
	n1 := Network{ID: strings.Repeat("a", 64), Bridge: "br-aaaaaaaaaaaa", Subnet: netip.MustParsePrefix("10.77.0.0/16")}
	n2 := Network{ID: "internal1", Bridge: "br-bbbbbbbbbbbb", Subnet: netip.MustParsePrefix("10.78.0.0/24"), Internal: true}
	for _, n := range []Network{n1, n2, n1} { // n1 twice: replaced, not doubled
		if err := f.AddNetwork(n); err != nil {
			t.Fatal(err)
		}
	}
	if c := count(t, f, "net="+n1.ID); c != 9 {
		t.Errorf("network rules: %d, want 9", c)
	}
	if c := count(t, f, "net="+n2.ID); c != 4 {
		t.Errorf("internal network rules: %d, want 4", c)
	}
	ports, _ := ParsePortSpec("127.0.0.1:8080-8081:80-81/udp")
	// 0.0.0.0 given directly means every address too, so it collides.
	if err := f.AddPorts("any", netip.MustParseAddr("10.77.0.3"), []PortMapping{{HostIP: netip.IPv4Unspecified(), HostPort: 8080, HostPortEnd: 8080, ContainerPort: 1, Proto: "udp"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.AddPorts("c0", netip.MustParseAddr("10.77.0.2"), ports); err == nil {
		t.Fatal("127.0.0.1:8080/udp published over 0.0.0.0:8080/udp")
	}
	if err := f.RemovePorts("any"); err != nil {
		t.Fatal(err)
	}
	cip := netip.MustParseAddr("10.77.0.2")
	for i := 0; i < 50; i++ {
		id := fmt.Sprintf("c%d", i)
		if err := f.AddPorts(id, cip, ports); err != nil {
			t.Fatal(err)
		}
		if c := count(t, f, "ctr="+id); c != 4 {
			t.Fatalf("container rules: %d, want 4", c)
		}
		if err := f.AddPorts("other", cip, ports[:1]); err == nil || !strings.Contains(err.Error(), "already allocated") {
			t.Fatalf("conflict: %v", err)
		}
		if err := f.RemovePorts(id); err != nil {
			t.Fatal(err)
		}
	}
	text := ruleset(t)
	t.Logf("ruleset:\n%s", text)
	if !strings.Contains(text, `comment "berth net=internal1 internal-out br-bbbbbbbbbbbb 10.78.0.0/24"`) {
		t.Errorf("nft does not show berth's comments")
	}
	if c := count(t, f, ""); c != 13 {
		t.Errorf("rules left after 50 port lifecycles: %d, want 13", c)
	}
	for _, n := range []Network{n1, n2} {
		if err := f.RemoveNetwork(n.ID); err != nil {
			t.Fatal(err)
		}
	}
	if c := count(t, f, ""); c != 0 {
		t.Errorf("rules left: %d", c)
	}
	if err := f.RemoveAll(); err != nil {
		t.Fatal(err)
	}
	if after := ruleset(t); after != before {
		t.Errorf("ruleset before:\n%s\nafter:\n%s", before, after)
	}
	if err := f.RemoveAll(); err != nil { // no table: fine
		t.Fatal(err)
	}
}

// TestRemoveWithoutTable: removing rules that are not there (rm of a
// container that published nothing, a teardown after a reboot) sends no
// batch, so it never creates berth's table.
func TestRemoveWithoutTable(t *testing.T) {
	f := newFirewall(t)
	if err := f.RemoveAll(); err != nil {
		t.Fatal(err)
	}
	before := ruleset(t)
	if err := f.RemovePorts(strings.Repeat("c", 64)); err != nil {
		t.Fatal(err)
	}
	if err := f.RemoveNetwork(strings.Repeat("a", 64)); err != nil {
		t.Fatal(err)
	}
	if after := ruleset(t); after != before {
		t.Errorf("a removal of nothing changed the ruleset:\n%s", after)
	}
}

func TestRulesBadInput(t *testing.T) {
	f := newFirewall(t)
	cip := netip.MustParseAddr("10.0.0.2")
	bad := []error{
		f.AddNetwork(Network{ID: "x y", Bridge: "br0", Subnet: netip.MustParsePrefix("10.0.0.0/24")}),
		f.AddNetwork(Network{ID: "n", Bridge: "../../x", Subnet: netip.MustParsePrefix("10.0.0.0/24")}),
		f.AddNetwork(Network{ID: "n", Bridge: "a-very-long-interface-name", Subnet: netip.MustParsePrefix("10.0.0.0/24")}),
		f.AddNetwork(Network{ID: "n", Bridge: "br0", Subnet: netip.MustParsePrefix("fd00::/64")}),
		f.AddPorts("", cip, nil),
		f.AddPorts("c", netip.MustParseAddr("::1"), nil),
		f.AddPorts("c", cip, []PortMapping{{ContainerPort: 80, Proto: "tcp"}}),
		f.AddPorts("c", cip, []PortMapping{{HostPort: 1, ContainerPort: 80, Proto: "sctp"}}),
		f.AddPorts("c", cip, []PortMapping{{HostIP: netip.MustParseAddr("::1"), HostPort: 1, ContainerPort: 80, Proto: "tcp"}}),
		f.AddPorts("c", cip, []PortMapping{{HostPort: 1, ContainerPort: 80, Proto: "tcp"}, {HostPort: 1, ContainerPort: 81, Proto: "tcp"}}),
		EnableRouteLocalnet("../all"),
		EnableRouteLocalnet("all"),
		EnableRouteLocalnet("default"),
		EnableRouteLocalnet("nosuchbr0"),
	}
	for i, err := range bad {
		if err == nil {
			t.Errorf("case %d accepted", i)
		}
	}
	if c := count(t, f, ""); c != 0 {
		t.Errorf("bad input left %d rules", c)
	}
}

func TestFreePort(t *testing.T) {
	needNetns(t)
	run(t, "ip", "link", "set", "lo", "up")
	lo := netip.MustParseAddr("127.0.0.1")
	p, err := FreePort(lo, "tcp", 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := ephemeralRange()
	if p < a || p > b {
		t.Errorf("port %d outside %d-%d", p, a, b)
	}
	if err := CheckHostPort(lo, p, "tcp"); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", fmt.Sprint(p)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := CheckHostPort(netip.Addr{}, p, "tcp"); err == nil || !strings.Contains(err.Error(), "already allocated") {
		t.Errorf("port in use: got %v", err)
	}
	if q, err := FreePort(lo, "tcp", p, p+1, nil); err != nil || q != p+1 {
		t.Errorf("FreePort skipping a used port: %d %v", q, err)
	}
	// Every port of a one-port range taken: a clear error.
	if _, err := FreePort(lo, "udp", p, p, func(uint16) bool { return true }); err == nil || !strings.Contains(err.Error(), "no free udp port") {
		t.Errorf("got %v", err)
	}
}

// container is a "container": a process in its own network namespace
// serving TCP and UDP on port 80, wired to a bridge by a veth.
type container struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	pid   string
}

func startContainer(t *testing.T, bridge, addr, gw string) *container {
	t.Helper()
	cmd := exec.Command("unshare", "-n", "--", os.Args[0])
	cmd.Env = append(os.Environ(), envChild+"=server")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &container{cmd: cmd, stdin: stdin, pid: fmt.Sprint(cmd.Process.Pid)}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Fatalf("container: %q %v", line, err)
	}
	host := "vh" + c.pid
	run(t, "ip", "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", c.pid)
	run(t, "ip", "link", "set", host, "master", bridge, "up")
	// Hairpin mode: with br_netfilter loaded (as here) a DNAT back to the
	// sender's own port is bridged, and must leave by the port it came in.
	run(t, "bridge", "link", "set", "dev", host, "hairpin", "on")
	in := []string{"nsenter", "-t", c.pid, "-n"}
	run(t, append(in, "ip", "link", "set", "lo", "up")...)
	run(t, append(in, "ip", "addr", "add", addr, "dev", "eth0")...)
	run(t, append(in, "ip", "link", "set", "eth0", "up")...)
	run(t, append(in, "ip", "route", "add", "default", "via", gw)...)
	return c
}

// ask runs a TCP client inside the container's namespace.
func (c *container) ask(addr string) (string, error) {
	cmd := exec.Command("nsenter", "-t", c.pid, "-n", os.Args[0])
	cmd.Env = append(os.Environ(), envChild+"=client", "ADDR="+addr)
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

func hostOf(addrPort string) string {
	a, err := netip.ParseAddrPort(addrPort)
	if err != nil {
		return "?" + addrPort
	}
	return a.Addr().String()
}

func TestPublishedPortsEndToEnd(t *testing.T) {
	f := newFirewall(t)
	before := ruleset(t)
	run(t, "ip", "link", "set", "lo", "up")
	addLink(t, "bt0", "type", "bridge")
	run(t, "ip", "addr", "add", "10.99.0.1/24", "dev", "bt0")
	run(t, "ip", "link", "set", "bt0", "up")
	// The "host's" own non-loopback address.
	addLink(t, "dm0", "type", "veth", "peer", "name", "dm1")
	run(t, "ip", "link", "set", "dm1", "up")
	run(t, "ip", "addr", "add", "198.51.100.1/24", "dev", "dm0")
	run(t, "ip", "link", "set", "dm0", "up")
	// Forwarding for the hairpin case; this namespace's sysctl only.
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctr := startContainer(t, "bt0", "10.99.0.2/24", "10.99.0.1")

	if err := f.AddNetwork(Network{ID: "net1", Bridge: "bt0", Subnet: netip.MustParsePrefix("10.99.0.0/24")}); err != nil {
		t.Fatal(err)
	}
	if err := EnableRouteLocalnet("bt0"); err != nil {
		t.Fatal(err)
	}
	var ports []PortMapping
	for _, s := range []string{"8080:80", "8080:80/udp", "127.0.0.1:8081:80"} {
		m, err := ParsePortSpec(s)
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, m...)
	}
	const id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	if err := f.AddPorts(id, netip.MustParseAddr("10.99.0.2"), ports); err != nil {
		t.Fatal(err)
	}
	t.Logf("ruleset:\n%s", ruleset(t))

	// Loopback clients arrive from the gateway (masqueraded), others as
	// themselves.
	for _, c := range []struct{ addr, want string }{
		{"127.0.0.1:8080", "10.99.0.1"},
		{"198.51.100.1:8080", "198.51.100.1"},
		{"10.99.0.1:8080", "10.99.0.1"},
		{"127.0.0.1:8081", "10.99.0.1"},
	} {
		got, err := askTCP(c.addr)
		if err != nil || hostOf(got) != c.want {
			t.Errorf("tcp %s: server saw %q (%v), want %s", c.addr, got, err, c.want)
		}
	}
	for _, c := range []struct{ addr, want string }{
		{"127.0.0.1:8080", "10.99.0.1"},
		{"198.51.100.1:8080", "198.51.100.1"},
	} {
		got, err := askUDP(c.addr)
		if err != nil || hostOf(got) != c.want {
			t.Errorf("udp %s: server saw %q (%v), want %s", c.addr, got, err, c.want)
		}
	}
	// 8081 is bound to 127.0.0.1 only.
	if got, err := askTCP("198.51.100.1:8081"); err == nil {
		t.Errorf("127.0.0.1-only port reached on another address: %q", got)
	}
	// Hairpin: the container reaches its own published port through a
	// host address.
	if got, err := ctr.ask("198.51.100.1:8080"); err != nil || hostOf(got) != "10.99.0.1" {
		t.Errorf("hairpin: server saw %q (%v), want 10.99.0.1", got, err)
	}
	pub, err := f.Published()
	if err != nil || len(pub) != 3 {
		t.Errorf("published: %+v %v", pub, err)
	}

	if err := f.RemovePorts(id); err != nil {
		t.Fatal(err)
	}
	if got, err := askTCP("127.0.0.1:8080"); err == nil {
		t.Errorf("port still published after RemovePorts: %q", got)
	}
	if got, err := askUDP("198.51.100.1:8080"); err == nil {
		t.Errorf("udp port still published after RemovePorts: %q", got)
	}
	out, err := exec.Command("nft", "list", "table", "inet", TableName).CombinedOutput()
	if err != nil || strings.Contains(string(out), id) || strings.Contains(string(out), "dnat ip to") {
		t.Errorf("container's rules left (%v):\n%s", err, out)
	}
	if err := f.RemoveNetwork("net1"); err != nil {
		t.Fatal(err)
	}
	if err := f.RemoveAll(); err != nil {
		t.Fatal(err)
	}
	if after := ruleset(t); after != before {
		t.Errorf("ruleset before:\n%s\nafter:\n%s", before, after)
	}
}

// addLink adds a link to the test's namespace, removed when the test ends
// (the tests of the package share one namespace).
func addLink(t *testing.T, name string, args ...string) {
	t.Helper()
	run(t, append([]string{"ip", "link", "add", name}, args...)...)
	t.Cleanup(func() { exec.Command("ip", "link", "del", name).Run() })
}

// bridge creates a bridge with the gateway address gw (a.b.c.d/nn).
func bridge(t *testing.T, name, gw string) {
	t.Helper()
	addLink(t, name, "type", "bridge")
	run(t, "ip", "addr", "add", gw, "dev", name)
	run(t, "ip", "link", "set", name, "up")
}

func TestIsolationEndToEnd(t *testing.T) {
	f := newFirewall(t)
	run(t, "ip", "link", "set", "lo", "up")
	addLink(t, "dm0", "type", "veth", "peer", "name", "dm1")
	run(t, "ip", "addr", "add", "198.51.100.1/24", "dev", "dm0")
	run(t, "ip", "link", "set", "dm0", "up")
	run(t, "ip", "link", "set", "dm1", "up")
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	nets := []Network{
		{ID: "n1", Bridge: "bt1", Subnet: netip.MustParsePrefix("10.91.0.0/24")},
		{ID: "n2", Bridge: "bt2", Subnet: netip.MustParsePrefix("10.92.0.0/24")},
		{ID: "n3", Bridge: "bt3", Subnet: netip.MustParsePrefix("10.93.0.0/24"), Internal: true},
	}
	var ctrs []*container
	for i, n := range nets {
		bridge(t, n.Bridge, fmt.Sprintf("10.9%d.0.1/24", i+1))
		ctrs = append(ctrs, startContainer(t, n.Bridge, fmt.Sprintf("10.9%d.0.2/24", i+1), fmt.Sprintf("10.9%d.0.1", i+1)))
	}
	// Without berth's rules the containers reach each other (the drops
	// below are the rules' doing).
	if _, err := ctrs[0].ask("10.92.0.2:80"); err != nil {
		t.Fatalf("no rules: n1 -> n2: %v", err)
	}
	for _, n := range nets {
		if err := f.AddNetwork(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.AddPorts("c2", netip.MustParseAddr("10.92.0.2"), []PortMapping{{HostPort: 9000, HostPortEnd: 9000, ContainerPort: 80, Proto: "tcp"}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		from int
		addr string
		ok   bool
	}{
		{0, "10.92.0.2:80", false},     // another network: isolated
		{1, "10.91.0.2:80", false},     // and back
		{0, "198.51.100.1:9000", true}, // a published port of another network
		{2, "10.91.0.2:80", false},     // internal: nothing outside its bridge
		{0, "10.93.0.2:80", false},     // nor into it
		{2, "198.51.100.1:9000", false},
	} {
		got, err := ctrs[c.from].ask(c.addr)
		if (err == nil) != c.ok {
			t.Errorf("n%d -> %s: %q %v, want reachable %v", c.from+1, c.addr, got, err, c.ok)
		}
	}
	// The host itself reaches every container directly.
	for _, a := range []string{"10.91.0.2:80", "10.92.0.2:80", "10.93.0.2:80"} {
		if _, err := askTCP(a); err != nil {
			t.Errorf("host -> %s: %v", a, err)
		}
	}
}

// TestAddNetworkKeepsSame: adding a network's rules again leaves them as
// they are (the same handles: no commit); one of them missing, the whole
// set is made again.
func TestAddNetworkKeepsSame(t *testing.T) {
	f := newFirewall(t)
	n := Network{ID: strings.Repeat("a", 64), Bridge: "br-aaaaaaaaaaaa", Subnet: netip.MustParsePrefix("10.77.0.0/16")}
	handles := func() []uint64 {
		rules, err := f.List()
		if err != nil {
			t.Fatal(err)
		}
		var out []uint64
		for _, r := range rules {
			out = append(out, r.Handle)
		}
		return out
	}
	if err := f.AddNetwork(n); err != nil {
		t.Fatal(err)
	}
	first := handles()
	if len(first) == 0 {
		t.Fatal("no rules after AddNetwork")
	}
	if err := f.AddNetwork(n); err != nil {
		t.Fatal(err)
	}
	if again := handles(); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Errorf("rules made again: %v, then %v", first, again)
	}
	rules, err := f.List()
	if err != nil {
		t.Fatal(err)
	}
	run(t, "nft", "delete", "rule", "inet", TableName, rules[0].Chain, "handle", fmt.Sprint(rules[0].Handle))
	if err := f.AddNetwork(n); err != nil {
		t.Fatal(err)
	}
	if got := count(t, f, "net="+n.ID); got != len(first) {
		t.Errorf("after a rule was deleted by hand: %d rules, want %d", got, len(first))
	}
	// Another internal flag: other rules, so they are made again.
	n.Internal = true
	if err := f.AddNetwork(n); err != nil {
		t.Fatal(err)
	}
	if got, want := count(t, f, "net="+n.ID), len(networkRules(n)); got != want {
		t.Errorf("internal: %d rules, want %d", got, want)
	}
}

// TestAddNetworkChangedSubnet: the same network's rules added again with
// another bridge or subnet (a record rewritten, rules left from before)
// are made again, not kept for their matching comments.
func TestAddNetworkChangedSubnet(t *testing.T) {
	f := newFirewall(t)
	n := Network{ID: strings.Repeat("c", 64), Bridge: "br-cccccccccccc", Subnet: netip.MustParsePrefix("10.77.0.0/16")}
	if err := f.AddNetwork(n); err != nil {
		t.Fatal(err)
	}
	n.Subnet = netip.MustParsePrefix("10.79.0.0/16")
	n.Bridge = "br-dddddddddddd"
	if err := f.AddNetwork(n); err != nil {
		t.Fatal(err)
	}
	rs := ruleset(t)
	if strings.Contains(rs, "10.77.0.0/16") || strings.Contains(rs, "br-cccccccccccc") {
		t.Errorf("the old subnet's or bridge's rules were kept:\n%s", rs)
	}
	if !strings.Contains(rs, "ip saddr 10.79.0.0/16") || !strings.Contains(rs, "br-dddddddddddd") {
		t.Errorf("no rules for the new subnet and bridge:\n%s", rs)
	}
	if got, want := count(t, f, "net="+n.ID), len(networkRules(n)); got != want {
		t.Errorf("%d rules, want %d", got, want)
	}
}
