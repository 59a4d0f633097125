package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNetworkConnect: a running container joins a second network (eth1,
// an address, its names there), reaches a container of that network by
// name and address, and is reached by its alias; after disconnect it no
// longer can. A stopped container's connect is applied at its start and
// kept across restarts; inspect shows the configured networks while it is
// stopped. Nothing is left after rm.
func TestNetworkConnect(t *testing.T) {
	e := newNetnsEnv(t)
	e.must("network", "create", "--subnet", "172.30.0.0/16", "n1")
	e.must("network", "create", "--subnet", "172.31.0.0/16", "n2")
	e.must("run", "-d", "--name", "other", "--network", "n2", "busybox", "sh", "-c",
		"echo from-n2 > /tmp/index.html; exec httpd -f -p 80 -h /tmp")
	otherIP := strings.TrimSpace(e.must("inspect", "-f", "{{.NetworkSettings.Networks.n2.IPAddress}}", "other"))
	if !strings.HasPrefix(otherIP, "172.31.") {
		t.Fatalf("other's address on n2: %q", otherIP)
	}
	e.must("run", "-d", "--name", "app", "--network", "n1", "busybox", "sleep", "1000")
	if _, _, code := e.run(nil, "exec", "app", "timeout", "5", "wget", "-qO-", "http://"+otherIP+"/index.html"); !unreachable(code) {
		t.Errorf("app reached n2 before connect")
	}

	e.must("network", "connect", "--alias", "appalias", "n2", "app")
	addr := e.must("exec", "app", "ip", "-o", "-4", "addr", "show", "eth1")
	if !strings.Contains(addr, " 172.31.") {
		t.Fatalf("app's eth1 after connect: %q", addr)
	}
	appIP := strings.TrimSpace(e.must("inspect", "-f", "{{.NetworkSettings.Networks.n2.IPAddress}}", "app"))
	if !strings.Contains(addr, " "+appIP+"/16") {
		t.Errorf("inspect says %q, eth1 has %q", appIP, addr)
	}
	if out := e.must("exec", "app", "cat", "/etc/hosts"); !strings.Contains(out, appIP+"\t") {
		t.Errorf("/etc/hosts after connect has no line for %s: %q", appIP, out)
	}
	// By name: app's name server (n1's) answers for n2 too, as app is on it.
	for _, url := range []string{"http://" + otherIP + "/index.html", "http://other/index.html", "http://other.n2/index.html"} {
		if out := e.must("exec", "app", "timeout", "5", "wget", "-qO-", url); out != "from-n2\n" {
			t.Errorf("wget %s from app: %q", url, out)
		}
	}
	e.must("exec", "app", "ping", "-c", "1", "-W", "2", "other")
	// n2's containers find app by its name and alias there.
	for _, name := range []string{"app", "appalias"} {
		if out := e.must("exec", "other", "nslookup", name, "172.31.0.1"); !strings.Contains(out, appIP) {
			t.Errorf("nslookup %s on n2: %q", name, out)
		}
	}
	// A container on n1 only does not see n2's names through n1's server.
	if out, _, code := e.run(nil, "run", "--rm", "--network", "n1", "busybox", "nslookup", "other", "172.30.0.1"); code == 0 && strings.Contains(out, otherIP) {
		t.Errorf("a container on n1 only resolved n2's other: %q", out)
	}
	e.fails(125, "already exists in network n2", "network", "connect", "n2", "app")
	e.fails(125, "already exists in network n1", "network", "connect", "n1", "app")
	e.fails(125, "not found", "network", "connect", "nosuch", "app")
	e.fails(125, "connected to host network", "network", "connect", "host", "app")
	if out := e.must("network", "inspect", "-f", "{{len .Containers}}", "n2"); out != "2\n" {
		t.Errorf("n2's containers after connect: %q", out)
	}

	e.must("network", "disconnect", "n2", "app")
	if out, _, code := e.run(nil, "exec", "app", "ip", "link", "show", "eth1"); code == 0 {
		t.Errorf("eth1 still there after disconnect: %q", out)
	}
	if _, _, code := e.run(nil, "exec", "app", "timeout", "5", "wget", "-qO-", "http://"+otherIP+"/index.html"); !unreachable(code) {
		t.Errorf("app reached n2 after disconnect")
	}
	if _, _, code := e.run(nil, "exec", "app", "ping", "-c", "1", "-W", "1", "other"); code == 0 {
		t.Errorf("app resolved and reached other after disconnect")
	}
	if out := e.must("exec", "app", "cat", "/etc/hosts"); strings.Contains(out, appIP+"\t") {
		t.Errorf("/etc/hosts keeps %s after disconnect: %q", appIP, out)
	}
	if out := e.must("network", "inspect", "-f", "{{len .Containers}}", "n2"); out != "1\n" {
		t.Errorf("n2's containers after disconnect: %q", out)
	}
	e.fails(125, "is not connected to network n2", "network", "disconnect", "n2", "app")
	e.fails(125, "the network it was created on", "network", "disconnect", "n1", "app")

	// A stopped container: the record changes, the start applies it.
	e.must("stop", "-t", "0", "app")
	e.must("network", "connect", "--ip", "172.31.9.9", "n2", "app")
	if out := e.must("inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}};{{end}}", "app"); out != "n1=;n2=;\n" {
		t.Errorf("networks of the stopped app: %q", out)
	}
	if out := e.must("network", "inspect", "-f", "{{len .Containers}}", "n2"); out != "1\n" {
		t.Errorf("a stopped container holds an address: %q", out)
	}
	for i := 0; i < 2; i++ {
		e.must("start", "app")
		if out := e.must("exec", "app", "ip", "-o", "-4", "addr", "show", "eth1"); !strings.Contains(out, " 172.31.9.9/16") {
			t.Errorf("start %d: app's eth1: %q", i, out)
		}
		if out := e.must("exec", "app", "timeout", "5", "wget", "-qO-", "http://other/index.html"); out != "from-n2\n" {
			t.Errorf("start %d: wget other from app: %q", i, out)
		}
		e.must("stop", "-t", "0", "app")
	}
	e.must("network", "disconnect", "n2", "app")
	e.must("start", "app")
	if out, _, code := e.run(nil, "exec", "app", "ip", "link", "show", "eth1"); code == 0 {
		t.Errorf("eth1 after a disconnect while stopped: %q", out)
	}
	e.must("rm", "-f", "app", "other")
	assertNoNetLeft(t, e, "after rm")
	e.must("network", "rm", "n1", "n2")
}

// unreachable says a `timeout 5 wget` failed as for an address it cannot
// reach: wget's exit 1 (refused, dropped), or 143 (timeout's SIGTERM); not
// 0, nor a crash.
func unreachable(code int) bool { return code == 1 || code == 143 }

// TestNetworkConnectFailed: a connect that fails after the interface was
// made (the container's hosts file cannot be written) leaves nothing: no
// eth1, lease, DNS entry or network in inspect; a later connect works and
// gets eth1.
func TestNetworkConnectFailed(t *testing.T) {
	e := newNetnsEnv(t)
	e.must("network", "create", "--subnet", "172.30.0.0/16", "n1")
	e.must("network", "create", "--subnet", "172.31.0.0/16", "n2")
	t.Cleanup(func() { e.run(nil, "rm", "-f", "app"); e.run(nil, "network", "rm", "n1", "n2") })
	e.must("run", "-d", "--name", "app", "--network", "n1", "busybox", "sleep", "1000")
	id := strings.TrimSpace(e.must("inspect", "-f", "{{.Id}}", "app"))
	hosts := filepath.Join(runDir(id), "etc-layer", "etc", "hosts")
	saved, err := os.ReadFile(hosts)
	if err != nil {
		t.Fatal(err)
	}
	// The running container's bind mount keeps the file's inode; a
	// directory in its place makes the rewrite fail.
	if err := os.Remove(hosts); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(hosts, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, code := e.run(nil, "network", "connect", "n2", "app"); code == 0 {
		t.Fatal("connect succeeded with an unwritable hosts file")
	}
	if out, _, code := e.run(nil, "exec", "app", "ip", "link", "show", "eth1"); code == 0 {
		t.Errorf("eth1 left by a failed connect: %q", out)
	}
	if out := e.must("inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}};{{end}}", "app"); out != "n1;\n" {
		t.Errorf("networks after a failed connect: %q", out)
	}
	if out := e.must("network", "inspect", "-f", "{{len .Containers}}", "n2"); out != "0\n" {
		t.Errorf("n2's containers after a failed connect: %q", out)
	}
	if err := os.Remove(hosts); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hosts, saved, 0o644); err != nil {
		t.Fatal(err)
	}
	e.must("network", "connect", "n2", "app")
	if out := e.must("exec", "app", "ip", "-o", "-4", "addr", "show", "eth1"); !strings.Contains(out, " 172.31.") {
		t.Errorf("eth1 after the second connect: %q", out)
	}
	e.must("rm", "-f", "app")
	assertNoNetLeft(t, e, "after rm")
	e.must("network", "rm", "n1", "n2")
}

// TestNetworkInspectStoppedByID: a container created with --network
// <network ID> shows the network under its name in inspect, stopped as
// running, as Docker's.
func TestNetworkInspectStoppedByID(t *testing.T) {
	e := newNetnsEnv(t)
	id := strings.TrimSpace(e.must("network", "create", "--subnet", "172.30.0.0/16", "n1"))
	t.Cleanup(func() { e.run(nil, "rm", "-f", "app"); e.run(nil, "network", "rm", "n1") })
	e.must("create", "--name", "app", "--network", id[:12], "busybox", "sleep", "1000")
	const keys = "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.NetworkID}};{{end}}"
	if out := e.must("inspect", "-f", keys, "app"); out != "n1="+id+";\n" {
		t.Errorf("networks of the created app: %q", out)
	}
	e.must("start", "app")
	if out := e.must("inspect", "-f", keys, "app"); out != "n1="+id+";\n" {
		t.Errorf("networks of the running app: %q", out)
	}
	e.must("rm", "-f", "app")
	e.must("network", "rm", "n1")
}
