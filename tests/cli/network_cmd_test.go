package cli_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"berth/network"
)

// netEnv runs berth in a private network namespace (unshare -n), so that
// nothing a network command does (bridge or rule removal, route lookups)
// can touch the host's; extra environment variables go to berth.
type netEnv struct {
	*env
	vars []string
}

func newNetEnv(t *testing.T, vars ...string) *netEnv {
	t.Helper()
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare(1) is needed")
	}
	return &netEnv{env: newEnv(t), vars: vars}
}

func (n *netEnv) run(args ...string) (string, string, int) {
	n.t.Helper()
	cmd := exec.Command("unshare", append([]string{"-n", binary, "--root", n.root}, args...)...)
	cmd.Env = append(os.Environ(), n.vars...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		n.t.Fatalf("berth %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), code
}

func (n *netEnv) must(args ...string) string {
	n.t.Helper()
	out, stderr, code := n.run(args...)
	if code != 0 {
		n.t.Fatalf("berth %s: exit %d: %s%s", strings.Join(args, " "), code, stderr, out)
	}
	return out
}

func (n *netEnv) fails(code int, want string, args ...string) {
	n.t.Helper()
	out, stderr, got := n.run(args...)
	if got != code || !strings.Contains(stderr, want) {
		n.t.Errorf("berth %s: exit %d, stderr %q, stdout %q; want exit %d and %q", strings.Join(args, " "), got, stderr, out, code, want)
	}
}

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// hostState is what must not change on the host: links and nftables.
func hostState(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, c := range [][]string{{"ip", "-o", "link"}, {"nft", "list", "ruleset"}} {
		out, _ := exec.Command(c[0], c[1:]...).CombinedOutput()
		b.Write(out)
	}
	return b.String()
}

func TestNetworkCreateInspectRm(t *testing.T) {
	before := hostState(t)
	n := newNetEnv(t)

	id1 := strings.TrimSpace(n.must("network", "create", "n1"))
	if !hex64.MatchString(id1) {
		t.Fatalf("create printed %q, want a 64-hex id", id1)
	}
	id2 := strings.TrimSpace(n.must("network", "create", "--subnet", "10.231.0.0/24", "--gateway", "10.231.0.254",
		"--internal", "--label", "tier=db", "--label", "bare", "n2"))

	// Refusals: overlap, duplicate, bad names, bad subnets, other drivers.
	n.fails(125, "overlaps with network n2", "network", "create", "--subnet", "10.231.0.128/25", "n3")
	n.fails(125, "already exists", "network", "create", "n1")
	n.fails(125, "invalid network name", "network", "create", "bad name")
	n.fails(125, "invalid network name", "network", "create", "a/b")
	n.fails(125, "invalid network name", "network", "create", strings.Repeat("x", 200))
	n.fails(125, "pre-defined", "network", "create", "host")
	n.fails(125, "pre-defined", "network", "create", "bridge")
	n.fails(125, "", "network", "create", "--subnet", "10.0.0.0/33", "n4")
	n.fails(125, "", "network", "create", "--subnet", "10.232.0.0/24", "--gateway", "10.9.9.9", "n4")
	n.fails(125, "needs --subnet", "network", "create", "--gateway", "10.9.9.9", "n4")
	n.fails(125, "not supported", "network", "create", "-d", "overlay", "n4")

	// inspect: Docker's shape.
	var got []map[string]any
	if err := json.Unmarshal([]byte(n.must("network", "inspect", "n2")), &got); err != nil || len(got) != 1 {
		t.Fatalf("inspect: %v %v", err, got)
	}
	for _, k := range []string{"Name", "Id", "Created", "Scope", "Driver", "EnableIPv6", "IPAM", "Internal", "Attachable",
		"Ingress", "ConfigFrom", "ConfigOnly", "Containers", "Options", "Labels"} {
		if _, ok := got[0][k]; !ok {
			t.Errorf("inspect lacks %s", k)
		}
	}
	if got[0]["Id"] != id2 || got[0]["Name"] != "n2" || got[0]["Driver"] != "bridge" || got[0]["Scope"] != "local" || got[0]["Internal"] != true {
		t.Errorf("inspect n2: %v", got[0])
	}
	if f := n.must("network", "inspect", "-f", "{{.Name}} {{(index .IPAM.Config 0).Subnet}} {{(index .IPAM.Config 0).Gateway}} {{.Labels.tier}}", "n2"); f != "n2 10.231.0.0/24 10.231.0.254 db\n" {
		t.Errorf("inspect --format: %q", f)
	}
	if f := n.must("network", "inspect", "-f", "{{.Name}} {{.Driver}}", "host", "none", id1[:10]); f != "host host\nnone null\nn1 bridge\n" {
		t.Errorf("inspect host none n1: %q", f)
	}
	n.fails(1, "No such network: nope", "network", "inspect", "nope")

	// A lease (as a container joining would take) blocks rm and prune and
	// shows in inspect.
	ctr := strings.Repeat("c0", 32)
	s, err := network.Open(n.root, network.Options{})
	if err != nil {
		t.Fatal(err)
	}
	addr, _, err := s.Allocate("n2", ctr, netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	f := n.must("network", "inspect", "-f", "{{range $id, $c := .Containers}}{{$id}} {{$c.IPv4Address}} {{$c.MacAddress}}{{end}}", "n2")
	if want := ctr + " " + addr.String() + "/24 02:42:0a:e7:00:01\n"; f != want {
		t.Errorf("inspect containers: %q, want %q", f, want)
	}
	n.fails(1, "error while removing network: network n2 id "+id2+" has active endpoints", "network", "rm", "n2")
	if out := n.must("network", "prune", "-f"); out != "Deleted Networks:\nn1\n\n" {
		t.Errorf("prune: %q", out)
	}
	if err := s.Release("n2", ctr); err != nil {
		t.Fatal(err)
	}

	n.fails(1, "pre-defined", "network", "rm", "bridge")
	n.fails(1, "pre-defined", "network", "rm", "none")
	n.fails(1, "not found", "network", "rm", "nope")
	if out := n.must("network", "rm", "n2"); out != "n2\n" {
		t.Errorf("rm: %q", out)
	}
	if out := n.must("network", "ls", "--format", "{{.Name}}"); out != "bridge\nhost\nnone\n" {
		t.Errorf("ls after rm: %q", out)
	}

	// Events: create and destroy, with the network's name and type.
	var evs []string
	data, _ := os.ReadFile(filepath.Join(n.root, "events.log"))
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var m struct {
			Type, Action string
			Actor        struct {
				ID         string
				Attributes map[string]string
			}
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		if m.Type == "network" && m.Action != "prune" {
			evs = append(evs, m.Action+" "+m.Actor.Attributes["name"]+" "+m.Actor.Attributes["type"]+" "+m.Actor.ID[:12])
		}
	}
	want := []string{"create n1 bridge " + id1[:12], "create n2 bridge " + id2[:12], "destroy n1 bridge " + id1[:12], "destroy n2 bridge " + id2[:12]}
	if strings.Join(evs, "|") != strings.Join(want, "|") {
		t.Errorf("events:\n%s\nwant\n%s", strings.Join(evs, "\n"), strings.Join(want, "\n"))
	}
	if after := hostState(t); after != before {
		t.Errorf("the host's links or rules changed:\nbefore\n%s\nafter\n%s", before, after)
	}
}

func TestNetworkLs(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "berth.json")
	if err := os.WriteFile(cfg, []byte(`{"default-address-pools":[{"base":"10.197.0.0/16","size":24}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	n := newNetEnv(t, "BERTH_CONFIG="+cfg)
	id := strings.TrimSpace(n.must("network", "create", "--label", "tier=web", "web"))
	n.must("network", "create", "--subnet", "192.168.240.0/24", "app")

	// The pools come from the configuration file.
	if f := n.must("network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", "bridge", "web"); f != "10.197.0.0/24\n10.197.1.0/24\n" {
		t.Errorf("subnets from the config pools: %q", f)
	}

	out := n.must("network", "ls")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 6 || !regexp.MustCompile(`^NETWORK ID +NAME +DRIVER +SCOPE$`).MatchString(lines[0]) {
		t.Fatalf("ls:\n%s", out)
	}
	var names []string
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 4 || len(f[0]) != 12 || f[3] != "local" {
			t.Errorf("ls line %q", l)
		}
		names = append(names, f[1]+":"+f[2])
	}
	if got := strings.Join(names, " "); got != "app:bridge bridge:bridge host:host none:null web:bridge" {
		t.Errorf("ls names: %s", got)
	}
	if q := strings.Fields(n.must("network", "ls", "-q", "--no-trunc", "--filter", "name=we")); len(q) != 1 || q[0] != id {
		t.Errorf("-q --no-trunc name=we: %v", q)
	}
	for _, c := range []struct {
		filter []string
		want   string
	}{
		{[]string{"label=tier=web"}, "web"},
		{[]string{"label=tier"}, "web"},
		{[]string{"driver=null"}, "none"},
		{[]string{"type=custom"}, "app web"},
		{[]string{"type=builtin"}, "bridge host none"},
		{[]string{"name=app", "name=web"}, "app web"},
		{[]string{"name=^b"}, "bridge"},
		{[]string{"id=" + id[:8]}, "web"},
		{[]string{"name=web", "driver=null"}, ""},
		{[]string{"dangling=true"}, "app web"},
	} {
		args := []string{"network", "ls", "--format", "{{.Name}}"}
		for _, f := range c.filter {
			args = append(args, "--filter", f)
		}
		if got := strings.Join(strings.Fields(n.must(args...)), " "); got != c.want {
			t.Errorf("filter %v: %q, want %q", c.filter, got, c.want)
		}
	}
	n.fails(125, "invalid filter", "network", "ls", "--filter", "color=red")
	n.fails(125, "bad format of filter", "network", "ls", "--filter", "name")
	if f := n.must("network", "ls", "--filter", "name=web", "--format", "table {{.Name}}\t{{.Labels}}\t{{.Internal}}"); !regexp.MustCompile(`^NAME +LABELS +INTERNAL\nweb +tier=web +false\n$`).MatchString(f) {
		t.Errorf("ls table format: %q", f)
	}
	if f := n.must("network", "ls", "--filter", "name=app", "--format", "json"); !strings.Contains(f, `"Name":"app"`) {
		t.Errorf("ls json: %q", f)
	}

	// prune with a label filter keeps the others.
	if out := n.must("network", "prune", "-f", "--filter", "label!=tier"); out != "Deleted Networks:\napp\n\n" {
		t.Errorf("prune label!=: %q", out)
	}
	if out := n.must("network", "prune", "-f", "--filter", "until=1h"); out != "" {
		t.Errorf("prune until=1h removed %q", out)
	}
	if out := strings.Join(strings.Fields(n.must("network", "ls", "--format", "{{.Name}}")), " "); out != "bridge host none web" {
		t.Errorf("ls after prune: %q", out)
	}
}

// TestNetworkRmTeardown gives a network a bridge, firewall rules and DNS
// files (as a container joining would) inside a private network namespace,
// and checks that rm removes them and leaves other owners' rules alone.
func TestNetworkRmTeardown(t *testing.T) {
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is needed", tool)
		}
	}
	before := hostState(t)
	n := newNetEnv(t)
	script := `set -e
id=$("$BERTH" --root "$ROOT" network create x)
short=$(echo "$id" | cut -c1-12)
ip link add "br-$short" type bridge
nft add table inet berth
nft add chain inet berth forward '{ type filter hook forward priority 0; }'
nft add rule inet berth forward accept comment "\"berth net=$id outbound\""
nft add rule inet berth forward accept comment '"berth net=other outbound"'
mkdir -p "$ROOT/networks/$id"
echo '{}' > "$ROOT/networks/$id/dns.json"
"$BERTH" --root "$ROOT" network rm x
echo "links: $(ip -o link show type bridge | wc -l)"
nft list table inet berth | grep -c 'comment "berth net=' || true
ls "$ROOT/networks"
`
	cmd := exec.Command("unshare", "-n", "sh", "-c", script)
	cmd.Env = append(os.Environ(), "BERTH="+binary, "ROOT="+n.root)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// rm printed x; no bridge is left; one rule (other's); only the db.
	if got := string(out); got != "x\nlinks: 0\n1\nnetworks.db\n" {
		t.Errorf("after rm:\n%s", got)
	}
	if after := hostState(t); after != before {
		t.Errorf("the host's links or rules changed:\nbefore\n%s\nafter\n%s", before, after)
	}
}

// TestNetworkCreateConcurrent: berth commands creating networks at once
// never share a subnet, and of several asking for one subnet exactly one
// gets it.
func TestNetworkCreateConcurrent(t *testing.T) {
	n := newNetEnv(t)
	type result struct {
		out  string
		code int
	}
	const k = 6
	res := make(chan result, 2*k)
	for i := 0; i < k; i++ {
		go func(i int) {
			out, _, code := n.run("network", "create", "auto"+string(rune('a'+i)))
			res <- result{out, code}
		}(i)
		go func(i int) {
			out, _, code := n.run("network", "create", "--subnet", "10.77.0.0/16", "same"+string(rune('a'+i)))
			res <- result{out, code}
		}(i)
	}
	ok := 0
	for i := 0; i < 2*k; i++ {
		if r := <-res; r.code == 0 {
			ok++
		}
	}
	if ok != k+1 {
		t.Errorf("%d creates succeeded, want %d (every auto, one same)", ok, k+1)
	}
	subs := strings.Fields(n.must("network", "ls", "-q", "--no-trunc"))
	seen := map[string]bool{}
	for _, id := range subs {
		s := strings.TrimSpace(n.must("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", id))
		if s != "" && seen[s] {
			t.Errorf("subnet %s given twice", s)
		}
		seen[s] = true
	}
	if len(subs) != k+1+3 {
		t.Errorf("%d networks listed, want %d", len(subs), k+1+3)
	}
}
