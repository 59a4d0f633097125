package ocispec

import (
	"net/netip"
	"strings"
	"testing"
)

func TestSplitAddHost(t *testing.T) {
	for _, c := range []struct {
		in, name, addr string
		ok             bool
	}{
		{"db:10.1.2.3", "db", "10.1.2.3", true},
		{"db=10.1.2.3", "db", "10.1.2.3", true},
		{"v6:[::1]", "v6", "::1", true},
		{"v6:::1", "v6", "::1", true},
		{"db:", "", "", false},
		{":10.1.2.3", "", "", false},
		{"db", "", "", false},
		{"db:not-an-ip", "", "", false},
		{"d b:10.1.2.3", "", "", false},
		{"db\n10.0.0.1 evil:10.1.2.3", "", "", false},
		{"db:host-gateway", "", "", false},
	} {
		name, addr, ok := SplitAddHost(c.in)
		if name != c.name || addr != c.addr || ok != c.ok {
			t.Errorf("SplitAddHost(%q) = %q %q %v, want %q %q %v", c.in, name, addr, ok, c.name, c.addr, c.ok)
		}
	}
}

func TestHostsFile(t *testing.T) {
	got := string(HostsFile("box.example", netip.MustParseAddr("172.17.0.2"), []string{"db:10.1.2.3", "bad"}))
	if !strings.HasPrefix(got, hostsHeader) || !strings.HasSuffix(got, "10.1.2.3\tdb\n172.17.0.2\tbox.example box\n") {
		t.Errorf("hosts:\n%s", got)
	}
	if got := string(HostsFile("abc", netip.Addr{}, nil)); !strings.HasSuffix(got, "\n127.0.0.1\tabc\n") {
		t.Errorf("hosts without an address:\n%s", got)
	}
}

func TestResolvConf(t *testing.T) {
	host := []byte("# host\nsearch lan\nnameserver 127.0.0.53\noptions edns0\n")
	if got := string(ResolvConf(host, nil, nil)); got != "# host\nsearch lan\noptions edns0\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n" {
		t.Errorf("loopback only: %q", got)
	}
	if got := string(ResolvConf(host, []string{"172.30.0.1"}, []string{"corp.example"})); got != "# host\noptions edns0\nsearch corp.example\nnameserver 172.30.0.1\n" {
		t.Errorf("--dns and --dns-search: %q", got)
	}
}

// FuzzSplitAddHost: --add-host values never make /etc/hosts lines that
// break out of their own line.
func FuzzSplitAddHost(f *testing.F) {
	for _, s := range []string{"db:10.1.2.3", "v6:[::1]", "x=1.2.3.4", ":", "a\n:1.1.1.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, addr, ok := SplitAddHost(s)
		if !ok {
			return
		}
		line := addr + "\t" + name
		if strings.ContainsAny(line, "\n\r#") || name == "" {
			t.Fatalf("SplitAddHost(%q) gave the line %q", s, line)
		}
	})
}
