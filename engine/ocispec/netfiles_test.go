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

// TestResolvConfHostile: --dns and --dns-search values that would end
// their line (a zone or domain with a newline) never reach the file.
func TestResolvConfHostile(t *testing.T) {
	host := []byte("nameserver 10.0.0.53\n")
	got := string(ResolvConf(host, []string{"fe80::1%x\nnameserver 6.6.6.6", "10.9.9.9"}, []string{"a.example\nnameserver 6.6.6.6", "b.example"}))
	if got != "search b.example\nnameserver 10.9.9.9\n" {
		t.Errorf("hostile values: %q", got)
	}
	for _, s := range []string{"", "a b", "a\tb", "a#b", "a;b", "a\x00b", "a\rb"} {
		if ValidSearchDomain(s) {
			t.Errorf("ValidSearchDomain(%q) = true", s)
		}
	}
	for _, s := range []string{"fe80::1%eth0", "1.2.3", "x"} {
		if ValidDNSServer(s) {
			t.Errorf("ValidDNSServer(%q) = true", s)
		}
	}
}

// FuzzResolvConf: whatever --dns and --dns-search hold, resolv.conf gets
// at most one line per accepted value and no line the user wrote whole.
func FuzzResolvConf(f *testing.F) {
	for _, s := range []string{"10.0.0.1", "fe80::1%a\nb", "corp.example", "a\nnameserver 1.1.1.1"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, server, search string) {
		out := string(ResolvConf([]byte("options edns0\n"), []string{server}, []string{search}))
		for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) == 2 && f[0] == "nameserver" && ValidDNSServer(f[1]):
			case len(f) == 2 && f[0] == "search" && f[1] == search:
			case line == "options edns0":
			default:
				t.Fatalf("ResolvConf(%q, %q) wrote the line %q", server, search, line)
			}
		}
	})
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
