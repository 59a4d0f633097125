package server

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"
)

func TestReverseAddr(t *testing.T) {
	for _, a := range []string{"10.89.0.2", "255.0.0.1", "fd00:89::3", "2001:db8::abcd:1"} {
		arpa := mustReverse(t, a)
		got, ok := reverseAddr(arpa)
		if !ok || got != netip.MustParseAddr(a) {
			t.Errorf("%s: %v %v", arpa, got, ok)
		}
	}
	for _, bad := range []string{"1.2.3.in-addr.arpa.", "01.2.3.4.in-addr.arpa.", "256.2.3.4.in-addr.arpa.", "x.ip6.arpa.", "in-addr.arpa."} {
		if a, ok := reverseAddr(bad); ok {
			t.Errorf("%s: parsed as %v", bad, a)
		}
	}
}

func mustReverse(t *testing.T, a string) string {
	t.Helper()
	r, err := reverseName(a)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestUpstreams(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resolv.conf")
	conf := "# comment\nnameserver 127.0.0.53\nnameserver 10.89.0.1\nnameserver ::1\nnameserver not-an-ip\nsearch example.com\noptions edns0 trust-ad\n"
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Upstreams(path, netip.MustParseAddrPort("10.89.0.1:53"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"127.0.0.53:53", "[::1]:53"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("upstreams %v, want %v (the server's own address dropped, loopback kept)", got, want)
	}
	if _, err := Upstreams(filepath.Join(t.TempDir(), "none"), netip.AddrPort{}); err == nil {
		t.Error("missing resolv.conf: no error")
	}
}

// reverseName is miekg's reverse name of an address.
func reverseName(a string) (string, error) { return mdns.ReverseAddr(a) }
