package cli_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"berth/network"
	"berth/network/link"
)

// Every test here runs berth inside a network namespace the test made
// (env.netns: each command through nsenter, and the monitors inherit it),
// so berth0, the veths, berth's nftables table and ip_forward exist only
// there and go with it. The test's "host" is that namespace; its loopback
// is private, and it gets a second address, testHostAddr.

// testHostAddr is an address of the test namespace besides 127.0.0.1.
const testHostAddr = "10.99.0.1"

// hostNetState is what of the real host's network a berth test could
// change by mistake.
func hostNetState(t *testing.T) string {
	t.Helper()
	links, _ := exec.Command("ip", "-o", "link", "show", "berth0").CombinedOutput()
	table, _ := exec.Command("nft", "list", "table", "inet", "berth").CombinedOutput()
	fwd, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	return fmt.Sprintf("berth0: %q\ntable: %q\nip_forward: %q", links, table, fwd)
}

// newNetnsEnv is newEnv with busybox whose berth runs in a private network
// namespace; the cleanup checks the host's network is as it was.
func newNetnsEnv(t *testing.T) *env {
	t.Helper()
	if _, err := exec.LookPath("nsenter"); err != nil {
		t.Skip("no nsenter")
	}
	before := hostNetState(t)
	ns := filepath.Join(t.TempDir(), "netns")
	if err := link.CreateNetns(ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := link.RemoveNetns(ns); err != nil {
			t.Errorf("remove the test's namespace: %v", err)
		}
		if after := hostNetState(t); after != before {
			t.Errorf("the host's network changed:\nbefore %s\nafter %s", before, after)
		}
	})
	nsRun(t, ns, "ip", "link", "set", "lo", "up")
	nsRun(t, ns, "ip", "addr", "add", testHostAddr+"/24", "dev", "lo")
	e := newEnv(t)
	e.netns = ns
	return e.withBusybox()
}

// nsRun runs a host tool in the test's namespace.
func nsRun(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("nsenter", append([]string{"--net=" + ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// inNetns runs fn on a thread in the test's namespace (sockets made there
// stay there).
func inNetns(t *testing.T, ns string, fn func() error) error {
	t.Helper()
	return link.Do(ns, fn)
}

// httpGet fetches http://addr/path from the test's namespace, retrying
// for a few seconds while the server starts.
func httpGet(t *testing.T, ns, addr, path string) string {
	t.Helper()
	var body string
	var last error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		last = inNetns(t, ns, func() error {
			c, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				return err
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(3 * time.Second))
			fmt.Fprintf(c, "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path)
			b, err := io.ReadAll(bufio.NewReader(c))
			body = string(b)
			return err
		})
		if last == nil && strings.Contains(body, "200 OK") {
			return body
		}
	}
	t.Fatalf("GET http://%s%s: %v %q", addr, path, last, body)
	return ""
}

// netCounts counts what berth's networking leaves per container in the
// test's namespace and root: netns files, leases, veths, container rules.
func netCounts(t *testing.T, e *env) string {
	t.Helper()
	files, _ := os.ReadDir(filepath.Join(e.root, "netns"))
	st, err := network.Open(e.root, network.Options{})
	if err != nil {
		t.Fatal(err)
	}
	leases, err := st.Leases()
	if err != nil {
		t.Fatal(err)
	}
	veths := strings.Count(nsRun(t, e.netns, "ip", "-o", "link"), "veth")
	rules, _ := exec.Command("nsenter", "--net="+e.netns, "nft", "list", "table", "inet", "berth").CombinedOutput()
	return fmt.Sprintf("netns files %d, leases %d, veths %d, container rules %d",
		len(files), len(leases), veths, strings.Count(string(rules), "ctr="))
}

const noNetLeft = "netns files 0, leases 0, veths 0, container rules 0"

// assertNoNetLeft fails unless netCounts reaches noNetLeft within a few
// seconds: the kernel deletes a container's veth with its namespace in
// the background, later under load.
func assertNoNetLeft(t *testing.T, e *env, when string) {
	t.Helper()
	var got string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got = netCounts(t, e); got == noNetLeft {
			return
		}
	}
	t.Errorf("%s: %s", when, got)
}

// TestNetworkNone: --network none has only the loopback, up.
func TestNetworkNone(t *testing.T) {
	e := newNetnsEnv(t)
	out := e.must("run", "--rm", "--network", "none", "busybox", "ip", "-o", "link")
	if !strings.Contains(out, "lo:") || strings.Count(out, "\n") != 1 || !strings.Contains(out, "UP") {
		t.Errorf("links with --network none: %q", out)
	}
}

// TestNetworkBridge: containers on the default network reach each other
// by address; published ports (tcp and udp) answer on 127.0.0.1 and on
// another address of the host; ps, port and inspect show them; a port
// taken is refused; nothing is left after rm.
func TestNetworkBridge(t *testing.T) {
	e := newNetnsEnv(t)
	udpEcho := buildUDPEcho(t)
	e.must("run", "-d", "--name", "web", "--network", "bridge",
		"-p", "8080:80", "-p", "127.0.0.1::81", "-p", "5353:53/udp", "-v", udpEcho+":/udpecho:ro",
		"busybox", "sh", "-c", "echo hello > /tmp/index.html; httpd -p 80 -h /tmp; httpd -p 81 -h /tmp; exec /udpecho")
	ip := strings.TrimSpace(e.must("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "web"))
	if !strings.HasPrefix(ip, "172.17.") {
		t.Fatalf("address on the default network: %q", ip)
	}
	hosts := e.must("exec", "web", "cat", "/etc/hosts")
	if !strings.Contains(hosts, ip+"\t") {
		t.Errorf("/etc/hosts has no line for %s: %q", ip, hosts)
	}
	// Container to container, by address.
	if out := e.must("run", "--rm", "--network", "bridge", "busybox", "wget", "-qO-", "http://"+ip+"/index.html"); out != "hello\n" {
		t.Errorf("container to container: %q", out)
	}
	// The host (the test's namespace) to the published ports.
	for _, addr := range []string{"127.0.0.1:8080", testHostAddr + ":8080"} {
		if body := httpGet(t, e.netns, addr, "/index.html"); !strings.HasSuffix(body, "hello\n") {
			t.Errorf("GET %s: %q", addr, body)
		}
	}
	port81 := strings.TrimSpace(e.must("port", "web", "81"))
	if !strings.HasPrefix(port81, "127.0.0.1:") {
		t.Errorf("port web 81: %q", port81)
	}
	httpGet(t, e.netns, port81, "/index.html")
	// A container reaching its own published port (hairpin).
	if out := e.must("exec", "web", "wget", "-qO-", "http://172.17.0.1:8080/index.html"); out != "hello\n" {
		t.Errorf("hairpin: %q", out)
	}
	// UDP: the container's echo server answers through the published port.
	for _, addr := range []string{"127.0.0.1:5353", testHostAddr + ":5353"} {
		waitFor(t, func() bool {
			var got string
			_ = inNetns(t, e.netns, func() error {
				c, err := net.Dial("udp", addr)
				if err != nil {
					return err
				}
				defer c.Close()
				if _, err = c.Write([]byte("udp-ping")); err != nil {
					return err
				}
				_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
				b := make([]byte, 64)
				n, err := c.Read(b)
				got = string(b[:n])
				return err
			})
			return got == "echo udp-ping"
		}, "a udp echo through "+addr)
	}
	want := "53/udp -> 0.0.0.0:5353\n80/tcp -> 0.0.0.0:8080\n81/tcp -> " + port81 + "\n"
	if out := e.must("port", "web"); out != want {
		t.Errorf("port web: %q, want %q", out, want)
	}
	if out := e.must("ps", "--format", "{{.Ports}}"); out != "0.0.0.0:5353->53/udp, 0.0.0.0:8080->80/tcp, "+port81+"->81/tcp\n" {
		t.Errorf("ps PORTS: %q", out)
	}
	if out := e.must("inspect", "-f", `{{json .HostConfig.PortBindings}}`, "web"); !strings.Contains(out, `"80/tcp":[{"HostIp":"","HostPort":"8080"}]`) {
		t.Errorf("PortBindings: %s", out)
	}
	e.fails(125, "port is already allocated", "run", "-d", "--network", "bridge", "-p", "8080:80", "busybox", "sleep", "9")
	e.fails(1, "no public port", "port", "web", "82")
	e.must("rm", "-f", "web")
	assertNoNetLeft(t, e, "after rm")
}

// TestNetworkLifecycles: 50 containers on the default network (publishing
// ports) and on a user network (with DNS names, some joined to it with
// network connect) end in every way — rm -f while running, stop then rm,
// exiting by themselves, a monitor killed with SIGKILL — and leave no
// link, address, rule, lease, DNS entry, netns file or mount.
func TestNetworkLifecycles(t *testing.T) {
	e := newNetnsEnv(t)
	e.must("network", "create", "n1")
	// The bridges and each network's rules stay once made: warm up both.
	e.must("run", "--rm", "busybox", "true")
	e.must("run", "--rm", "--network", "n1", "busybox", "true")
	// The warm-up's veth goes with its namespace, in the background.
	assertNoNetLeft(t, e, "after the warm-up")
	before := netSnapshot(t, e)
	killMonitor := func(name string) {
		t.Helper()
		id := strings.TrimSpace(e.must("inspect", "-f", "{{.Id}}", name))
		b, err := os.ReadFile(monitorPidFile(id))
		if err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("kill", "-9", strings.TrimSpace(string(b))).CombinedOutput(); err != nil {
			t.Fatalf("kill the monitor: %v %s", err, out)
		}
	}
	for i := 0; i < 50; i++ {
		name := fmt.Sprintf("c%d", i)
		switch i % 5 {
		case 0:
			e.must("run", "-d", "--name", name, "-p", "80", "busybox", "sleep", "100")
			e.must("rm", "-f", name)
		case 1:
			e.must("run", "-d", "--name", name, "--network", "n1", "--network-alias", "alias"+name, "busybox", "sleep", "100")
			e.must("stop", "-t", "0", name)
			assertNoNetLeft(t, e, "after stop of "+name)
			e.must("rm", name)
		case 2:
			// Ends by itself: its monitor's exit command releases the network.
			e.must("run", "-d", "--name", name, "--network", "n1", "-p", "80", "busybox", "true")
			waitFor(t, func() bool { return netCounts(t, e) == noNetLeft }, "the network of "+name+" released by its monitor")
			e.must("rm", name)
		case 3:
			e.must("run", "-d", "--name", name, "-p", "80", "busybox", "sleep", "100")
			killMonitor(name)
			e.must("rm", "-f", name)
		case 4:
			e.must("run", "-d", "--name", name, "-p", "80", "busybox", "sleep", "100")
			e.must("network", "connect", "--alias", "x"+name, "n1", name)
			killMonitor(name)
			e.must("rm", "-f", name)
		}
	}
	assertNoNetLeft(t, e, "after 50 containers")
	if after := netSnapshot(t, e); after != before {
		t.Errorf("after 50 containers:\n%s\nbefore:\n%s", after, before)
	}
}

// netSnapshot counts all that berth's networking holds in the test's
// namespace and root: links, addresses, nftables rules, leases, DNS
// entries, netns files and mounts.
func netSnapshot(t *testing.T, e *env) string {
	t.Helper()
	links := strings.Count(nsRun(t, e.netns, "ip", "-o", "link"), "\n")
	addrs := strings.Count(nsRun(t, e.netns, "ip", "-o", "addr"), "\n")
	ruleset, _ := exec.Command("nsenter", "--net="+e.netns, "nft", "-a", "list", "ruleset").CombinedOutput()
	rules := 0
	for _, l := range strings.Split(string(ruleset), "\n") {
		// Rules carry a handle and are not chain or table headers.
		if strings.Contains(l, "# handle") && !strings.Contains(l, "{") {
			rules++
		}
	}
	st, err := network.Open(e.root, network.Options{})
	if err != nil {
		t.Fatal(err)
	}
	leases, err := st.Leases()
	if err != nil {
		t.Fatal(err)
	}
	dnsEntries := 0
	files, _ := filepath.Glob(filepath.Join(e.root, "networks", "*", "dns.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dnsEntries += strings.Count(string(b), `"id"`)
	}
	nsFiles, _ := os.ReadDir(filepath.Join(e.root, "netns"))
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	mounts := strings.Count(string(mi), " "+e.root+"/")
	return fmt.Sprintf("links %d, addresses %d, nft rules %d, leases %d, dns entries %d, netns files %d, mounts %d",
		links, addrs, rules, len(leases), dnsEntries, len(nsFiles), mounts)
}

// TestNetworkReboot: after a simulated reboot — every monitor, container
// and DNS server killed, the netns and rootfs mounts gone, the bridges and
// berth's nftables table deleted — ps lists the containers as exited, a
// stopped container starts again (bridge, rules, address, names made
// anew), published ports work again, and rm and network rm leave nothing.
func TestNetworkReboot(t *testing.T) {
	e := newNetnsEnv(t)
	e.must("network", "create", "--subnet", "172.30.0.0/16", "n1")
	e.must("run", "-d", "--name", "web", "-p", "8080:80", "busybox", "sh", "-c",
		"echo hi > /tmp/index.html; exec httpd -f -p 80 -h /tmp")
	e.must("run", "-d", "--name", "app", "--network", "n1", "busybox", "sleep", "1000")
	e.must("run", "-d", "--name", "later", "--network", "n1", "busybox", "sleep", "1000")
	e.must("stop", "-t", "0", "later")
	httpGet(t, e.netns, "127.0.0.1:8080", "/")

	// The reboot: processes die, mounts, links and rules vanish.
	var pids []string
	ids := strings.Fields(e.must("ps", "-aq", "--no-trunc"))
	var pidFiles []string
	for _, id := range ids {
		run := runDir(id)
		pidFiles = append(pidFiles, filepath.Join(run, "monitor.pid"), filepath.Join(run, "init.pid"))
	}
	dnsPids, _ := filepath.Glob(filepath.Join(e.root, "networks/*/dns.pid"))
	for _, f := range append(pidFiles, dnsPids...) {
		// A pid file may be stale and its pid another's process now:
		// only a process of this test's berth is killed.
		if b, err := os.ReadFile(f); err == nil && ownProcess(e, strings.TrimSpace(string(b))) {
			pids = append(pids, strings.TrimSpace(string(b)))
		}
	}
	if len(pids) < 5 {
		t.Fatalf("found %d processes to kill, want monitors, containers and a DNS server: %v", len(pids), pids)
	}
	for _, p := range pids {
		_ = exec.Command("kill", "-9", p).Run()
	}
	// The run directories were on a tmpfs.
	for _, id := range ids {
		if err := os.RemoveAll(runDir(id)); err != nil {
			t.Fatal(err)
		}
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	var mounts []string
	for _, l := range strings.Split(string(mi), "\n") {
		if f := strings.Fields(l); len(f) > 4 && strings.HasPrefix(f[4], e.root+"/") {
			mounts = append(mounts, f[4])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(mounts)))
	for _, m := range mounts {
		if out, err := exec.Command("umount", "-l", m).CombinedOutput(); err != nil {
			t.Fatalf("umount %s: %v %s", m, err, out)
		}
	}
	for _, l := range strings.Fields(nsRun(t, e.netns, "sh", "-c", "ip -o link show type bridge | cut -d: -f2")) {
		nsRun(t, e.netns, "ip", "link", "del", l)
	}
	nsRun(t, e.netns, "nft", "delete", "table", "inet", "berth")

	if out := e.must("ps", "-a", "--format", "{{.Names}} {{.State}}"); strings.Count(out, "exited") != 3 {
		t.Errorf("ps -a after the reboot: %q", out)
	}
	e.must("start", "later")
	if out := e.must("exec", "later", "ip", "-o", "-4", "addr", "show", "eth0"); !strings.Contains(out, " 172.30.") {
		t.Errorf("later's address after the reboot: %q", out)
	}
	if out := e.must("exec", "later", "nslookup", "later", "172.30.0.1"); !strings.Contains(out, "172.30.") {
		t.Errorf("later's name after the reboot: %q", out)
	}
	e.must("start", "web")
	if body := httpGet(t, e.netns, "127.0.0.1:8080", "/index.html"); !strings.HasSuffix(body, "hi\n") {
		t.Errorf("the published port after the reboot: %q", body)
	}
	// The leases of the dead containers hold until rm; then they go.
	e.fails(1, "has active endpoints", "network", "rm", "n1")
	e.must("rm", "-f", "web", "app", "later")
	assertNoNetLeft(t, e, "after rm")
	e.must("network", "rm", "n1")
	if out := nsRun(t, e.netns, "ip", "-o", "link", "show", "type", "bridge"); strings.Contains(out, "br-") {
		t.Errorf("n1's bridge after network rm: %q", out)
	}
}

// TestNetworkContainerMode: --network container:NAME shares the other's
// interface and address.
func TestNetworkContainerMode(t *testing.T) {
	e := newNetnsEnv(t)
	e.must("run", "-d", "--name", "first", "--network", "bridge", "busybox", "sleep", "100")
	ip := strings.TrimSpace(e.must("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "first"))
	e.must("run", "-d", "--name", "second", "--network", "container:first", "busybox", "sleep", "100")
	if out := e.must("exec", "second", "ip", "-o", "addr", "show", "eth0"); !strings.Contains(out, ip+"/") {
		t.Errorf("second's eth0: %q, want %s", out, ip)
	}
	e.fails(125, "conflicting options", "run", "-d", "--network", "container:first", "-p", "80", "busybox", "true")
	// first goes while second still holds the namespace: its veth goes
	// too (as Docker takes the endpoint), nothing of first stays.
	e.must("rm", "-f", "first")
	if out := e.must("exec", "second", "ip", "-o", "link"); strings.Contains(out, "eth0") {
		t.Errorf("second keeps first's eth0 after rm of first: %q", out)
	}
	assertNoNetLeft(t, e, "after rm of first")
	e.must("rm", "-f", "second")
	assertNoNetLeft(t, e, "after rm")
}

// TestNetworkEtcFiles: --add-host and --dns reach /etc/hosts and
// /etc/resolv.conf; --hostname names the container's address.
func TestNetworkEtcFiles(t *testing.T) {
	e := newNetnsEnv(t)
	out := e.must("run", "--rm", "--network", "bridge", "--hostname", "box.example", "--add-host", "db:10.1.2.3",
		"--dns", "9.9.9.9", "--dns-search", "corp.example", "busybox", "cat", "/etc/hosts", "/etc/resolv.conf")
	for _, want := range []string{"10.1.2.3\tdb\n", "\tbox.example box\n", "nameserver 9.9.9.9\n", "search corp.example\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	e.fails(125, "--add-host", "run", "--rm", "--add-host", "nohost", "busybox", "true")
	e.fails(125, "--dns", "run", "--rm", "--dns", "not-an-ip", "busybox", "true")
	// Values that would add a line of their own to resolv.conf.
	e.fails(125, "--dns", "run", "--rm", "--dns", "fe80::1%x\nnameserver 6.6.6.6", "busybox", "true")
	e.fails(125, "--dns-search", "run", "--rm", "--dns-search", "a.example\nnameserver 6.6.6.6", "busybox", "true")
}

// udpEchoSrc is a UDP echo server on port 53 for the container (busybox
// has no UDP server).
const udpEchoSrc = `package main

import "net"

func main() {
	c, err := net.ListenPacket("udp", ":53")
	if err != nil {
		panic(err)
	}
	b := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(b)
		if err != nil {
			continue
		}
		c.WriteTo(append([]byte("echo "), b[:n]...), from)
	}
}
`

// buildUDPEcho builds udpEchoSrc, static, and returns the binary's path.
func buildUDPEcho(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(udpEchoSrc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module udpecho\n\ngo 1.21\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "udpecho")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the udp echo server: %v %s", err, out)
	}
	return bin
}

// TestNetworkUser: a user network (network create) gives its containers
// a fixed --ip, names and --network-alias values through its DNS server,
// and is isolated from the default network.
func TestNetworkUser(t *testing.T) {
	e := newNetnsEnv(t)
	e.must("network", "create", "--subnet", "172.30.0.0/16", "n1")
	e.must("run", "-d", "--name", "web", "--network", "n1", "--network-alias", "www", "--ip", "172.30.100.104",
		"busybox", "sh", "-c", "echo hi > /tmp/index.html; exec httpd -f -p 80 -h /tmp")
	if out := e.must("exec", "web", "cat", "/etc/resolv.conf"); !strings.Contains(out, "nameserver 172.30.0.1\n") {
		t.Errorf("resolv.conf on n1: %q", out)
	}
	if out := e.must("inspect", "-f", "{{.NetworkSettings.Networks.n1.IPAddress}}", "web"); out != "172.30.100.104\n" {
		t.Errorf("address on n1: %q", out)
	}
	for _, name := range []string{"web", "www", "www.n1"} {
		if out := e.must("run", "--rm", "--network", "n1", "busybox", "wget", "-qO-", "http://"+name+"/index.html"); out != "hi\n" {
			t.Errorf("wget http://%s/: %q", name, out)
		}
	}
	if out, _, code := e.run(nil, "run", "--rm", "--network", "bridge", "busybox", "sh", "-c",
		// Not wget as PID 1: it would ignore timeout's SIGTERM.
		"timeout 5 wget -qO- http://172.30.100.104/index.html; exit $?"); !unreachable(code) || out != "" {
		t.Errorf("the default network reached n1: %d %q", code, out)
	}
	e.fails(125, "only when connecting to networks with user configured subnets", "run", "--rm", "--ip", "172.17.0.50", "--network", "bridge", "busybox", "true")
	// An address another container holds: an error naming the network
	// (the failed allocation once dereferenced a nil record).
	e.fails(125, "network n1: allocate address: network n1: address already in use", "run", "--rm", "--network", "n1", "--ip", "172.30.100.104", "busybox", "true")
	// A container name Docker allows but DNS does not (a 64-byte label)
	// still starts, without a name on the network's server.
	e.must("run", "--rm", "--network", "n1", "--name", strings.Repeat("x", 64), "busybox", "true")
	e.must("rm", "-f", "web")
	assertNoNetLeft(t, e, "after rm")
	e.must("network", "rm", "n1")
}

// TestNetworkRestartKeepsAddress: restarts by the policy keep the
// container's namespace and address; the final exit releases them.
func TestNetworkRestartKeepsAddress(t *testing.T) {
	e := newNetnsEnv(t)
	e.must("run", "-d", "--name", "flaky", "--network", "bridge", "--restart", "on-failure:3", "-p", "80",
		"busybox", "sh", "-c", "ip -o -4 addr show eth0; sleep 0.3; exit 1")
	waitFor(t, func() bool {
		out, _, _ := e.run(nil, "inspect", "-f", "{{.State.Status}} {{.RestartCount}}", "flaky")
		return out == "exited 3\n"
	}, "three restarts and the final exit")
	logs := e.must("logs", "flaky")
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	if len(lines) != 4 {
		t.Fatalf("logs: %q", logs)
	}
	for _, l := range lines[1:] {
		if strings.Fields(l)[3] != strings.Fields(lines[0])[3] {
			t.Errorf("the address changed across restarts: %q", logs)
		}
	}
	waitFor(t, func() bool { return netCounts(t, e) == noNetLeft }, "the network released after the final exit")
}

// TestNetworkBadFlags: bad networking flags fail before anything is made.
func TestNetworkBadFlags(t *testing.T) {
	e := newNetnsEnv(t)
	for _, c := range []struct {
		want string
		args []string
	}{
		{"not found", []string{"--network", "no-such-net"}},
		{"--network", []string{"--network", "../etc"}},
		{"--publish", []string{"--network", "bridge", "-p", "99999:80"}},
		{"--publish", []string{"--network", "bridge", "-p", "80/sctp-ish"}},
		{"--ip", []string{"--network", "bridge", "--ip", "not-an-ip"}},
		{"--network", []string{"--network", "container:"}},
		{"no such container", []string{"--network", "container:nobody"}},
		{"network-scoped alias", []string{"--network", "bridge", "--network-alias", "x"}},
	} {
		e.fails(125, c.want, append(append([]string{"run", "--rm"}, c.args...), "busybox", "true")...)
	}
	if out := e.must("ps", "-aq"); out != "" {
		t.Errorf("containers left by failed runs: %q", out)
	}
	assertNoNetLeft(t, e, "after failed runs")
}

// TestNetArgs: the harness gives run and create `--network none` unless a
// network is named or the env has a namespace of its own, also after
// global flags and with `container`.
func TestNetArgs(t *testing.T) {
	e := &env{t: t}
	for in, want := range map[string]string{
		"run --rm busybox true":                         "run --network none --rm busybox true",
		"--snapshotter native run --rm nat ls":          "--snapshotter native run --network none --rm nat ls",
		"container create busybox":                      "container create --network none busybox",
		"run --network bridge busybox":                  "run --network bridge busybox",
		"run --net=host busybox":                        "run --net=host busybox",
		"ps -a":                                         "ps -a",
		"image bootstrap busybox":                       "image bootstrap busybox",
		"exec web run":                                  "exec web run",
		"--root /x --snapshotter=native create busybox": "--root /x --snapshotter=native create --network none busybox",
	} {
		if got := strings.Join(e.netArgs(strings.Fields(in)), " "); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
	e.netns = "/some/ns"
	if got := strings.Join(e.netArgs([]string{"run", "busybox"}), " "); got != "run busybox" {
		t.Errorf("in a namespace of its own: %q", got)
	}
}

// ownProcess says pid is a process of e's berth: its command line names
// e's root (monitors, the DNS server), it runs in e's network namespace,
// or its parent's parent at most is such a process (a container's init).
func ownProcess(e *env, pid string) bool {
	for depth := 0; depth < 3; depth++ {
		if _, err := strconv.Atoi(pid); err != nil || pid == "0" || pid == "1" {
			return false
		}
		proc := filepath.Join("/proc", pid)
		if b, err := os.ReadFile(filepath.Join(proc, "cmdline")); err == nil && strings.Contains(string(b), e.root) {
			return true
		}
		var own, its unix.Stat_t
		if unix.Stat(e.netns, &own) == nil && unix.Stat(filepath.Join(proc, "ns", "net"), &its) == nil &&
			own.Dev == its.Dev && own.Ino == its.Ino {
			return true
		}
		status, err := os.ReadFile(filepath.Join(proc, "status"))
		if err != nil {
			return false
		}
		_, rest, _ := strings.Cut(string(status), "\nPPid:")
		pid, _, _ = strings.Cut(strings.TrimSpace(rest), "\n")
	}
	return false
}
