package nft

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParsePortSpec(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	v6 := netip.MustParseAddr("::1")
	cases := []struct {
		in   string
		want []PortMapping
	}{
		{"80", []PortMapping{{ContainerPort: 80, Proto: "tcp"}}},
		{"8080:80", []PortMapping{{HostPort: 8080, HostPortEnd: 8080, ContainerPort: 80, Proto: "tcp"}}},
		{"8080:80/udp", []PortMapping{{HostPort: 8080, HostPortEnd: 8080, ContainerPort: 80, Proto: "udp"}}},
		{"127.0.0.1:8080:80/TCP", []PortMapping{{HostIP: lo, HostPort: 8080, HostPortEnd: 8080, ContainerPort: 80, Proto: "tcp"}}},
		{"127.0.0.1::80", []PortMapping{{HostIP: lo, ContainerPort: 80, Proto: "tcp"}}},
		{"0.0.0.0:8080:80", []PortMapping{{HostPort: 8080, HostPortEnd: 8080, ContainerPort: 80, Proto: "tcp"}}},
		{"[::1]:8080:80", []PortMapping{{HostIP: v6, HostPort: 8080, HostPortEnd: 8080, ContainerPort: 80, Proto: "tcp"}}},
		{"8000-8001:80-81", []PortMapping{
			{HostPort: 8000, HostPortEnd: 8000, ContainerPort: 80, Proto: "tcp"},
			{HostPort: 8001, HostPortEnd: 8001, ContainerPort: 81, Proto: "tcp"}}},
		{"8000-8010:80", []PortMapping{{HostPort: 8000, HostPortEnd: 8010, ContainerPort: 80, Proto: "tcp"}}},
		{"80-81/udp", []PortMapping{{ContainerPort: 80, Proto: "udp"}, {ContainerPort: 81, Proto: "udp"}}},
	}
	for _, c := range cases {
		got, err := ParsePortSpec(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("%q: got %v, want %v", c.in, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%q[%d]: got %+v, want %+v", c.in, i, got[i], c.want[i])
			}
		}
	}
}

func TestParsePortSpecHostile(t *testing.T) {
	cases := map[string]string{
		"":                       "empty",
		"0":                      "1-65535",
		"65536":                  "1-65535",
		"-1":                     "empty port",
		"+80":                    "invalid port",
		"80/sctp":                "not supported",
		"80/":                    "empty protocol",
		"a:80":                   "invalid port",
		":80":                    "empty host port",
		"::80":                   "empty host address",
		"1.2.3:80:80":            "invalid host address",
		"1.2.3.4:80:80:80":       "too many",
		"::1:80:80":              "too many",
		"[::1:80:80":             "unterminated",
		"[::1]80:80":             "expected ':'",
		"[fe80::1%eth0]:80:80":   "invalid host address",
		"8000-8002:80-81":        "differ in length",
		"90-80":                  "end before start",
		"1-65535":                "at most",
		"80 ":                    "invalid port",
		strings.Repeat("9", 200): "too long",
		"8080:80\x00":            "invalid port",
	}
	for in, want := range cases {
		_, err := ParsePortSpec(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one containing %q", in, err, want)
		}
	}
}

func FuzzParsePortSpec(f *testing.F) {
	for _, s := range []string{"80", "8080:80/udp", "127.0.0.1::80", "[::1]:1-2:3-4/tcp", "8000-8010:80", "a:b:c:d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := ParsePortSpec(s)
		if err != nil {
			return
		}
		if len(ms) == 0 || len(ms) > maxRange {
			t.Fatalf("%q: %d mappings", s, len(ms))
		}
		for _, m := range ms {
			if m.ContainerPort == 0 || (m.Proto != "tcp" && m.Proto != "udp") || m.HostPortEnd < m.HostPort {
				t.Fatalf("%q: bad mapping %+v", s, m)
			}
			// What String renders parses back to the same mapping.
			again, err := ParsePortSpec(m.String())
			if err != nil || len(again) != 1 || again[0] != m {
				t.Fatalf("%q: %+v renders %q, parses back to %+v, %v", s, m, m.String(), again, err)
			}
		}
	})
}

func TestParseDescribe(t *testing.T) {
	m := PortMapping{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 8080, HostPortEnd: 8080, ContainerPort: 80, Proto: "udp"}
	p, ok := parseDescribe(describe(m, netip.MustParseAddr("10.0.0.2")))
	if !ok || p.HostIP != m.HostIP || p.HostPort != 8080 || p.ContainerPort != 80 || p.Proto != "udp" || p.ContainerIP.String() != "10.0.0.2" {
		t.Fatalf("got %+v %v", p, ok)
	}
	for _, bad := range []string{"", "tcp", "sctp 1.2.3.4:1->1.2.3.4:2", "tcp 1.2.3.4:0->1.2.3.4:2", "tcp [::1]:1->1.2.3.4:2", "tcp x->y"} {
		if _, ok := parseDescribe(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseDescribe(f *testing.F) {
	f.Add("tcp 0.0.0.0:8080->10.0.0.2:80")
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := parseDescribe(s)
		if ok && (p.HostPort == 0 || p.ContainerPort == 0 || !p.ContainerIP.Is4()) {
			t.Fatalf("%q: %+v", s, p)
		}
	})
}
