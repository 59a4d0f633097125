package cli_test

import (
	"os/exec"
	"strings"
	"testing"
)

// hostFirewall is a typical host firewall in nftables: incoming traffic
// dropped unless answered or local, forwarding left to others.
const hostFirewall = `table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iif "lo" accept
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
	}
}
`

// TestNetworkHostFirewall: berth works beside a host firewall of the
// host's own (an nftables table and iptables-nft rules) and never
// rewrites it: published ports and container traffic work, and the host's
// tables read the same before, during and after a container's life.
func TestNetworkHostFirewall(t *testing.T) {
	e := newNetnsEnv(t)
	nsRunStdin(t, e.netns, hostFirewall, "nft", "-f", "-")
	nsRun(t, e.netns, "iptables", "-A", "INPUT", "-p", "tcp", "--dport", "9", "-j", "DROP")
	hostRules := func() string {
		return nsRun(t, e.netns, "nft", "list", "table", "inet", "filter") +
			nsRun(t, e.netns, "iptables", "-S")
	}
	before := hostRules()

	e.must("run", "-d", "--name", "web", "-p", "8080:80", "busybox", "sh", "-c",
		"echo hello > /tmp/index.html; exec httpd -f -p 80 -h /tmp")
	ip := strings.TrimSpace(e.must("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "web"))
	for _, addr := range []string{"127.0.0.1:8080", testHostAddr + ":8080"} {
		if body := httpGet(t, e.netns, addr, "/index.html"); !strings.HasSuffix(body, "hello\n") {
			t.Errorf("GET %s beside the host's firewall: %q", addr, body)
		}
	}
	if out := e.must("run", "--rm", "busybox", "wget", "-qO-", "http://"+ip+"/index.html"); out != "hello\n" {
		t.Errorf("container to container beside the host's firewall: %q", out)
	}
	if during := hostRules(); during != before {
		t.Errorf("the host's firewall changed while a container ran:\nbefore:\n%s\nduring:\n%s", before, during)
	}
	e.must("rm", "-f", "web")
	if after := hostRules(); after != before {
		t.Errorf("the host's firewall changed after rm:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	assertNoNetLeft(t, e, "after rm")
}

// nsRunStdin is nsRun with input on stdin.
func nsRunStdin(t *testing.T, ns, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("nsenter", append([]string{"--net=" + ns}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
