package link

import (
	"errors"
	"net/netip"
	"regexp"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	good := []string{"eth0", "berth0", "br-0123456789ab", "veth1a2b3c4", "a", "x.y", "a-b_c", strings.Repeat("a", 15)}
	for _, n := range good {
		if err := ValidateName(n); err != nil {
			t.Errorf("ValidateName(%q) = %v, want nil", n, err)
		}
	}
	bad := []string{"", ".", "..", strings.Repeat("a", 16), "a/b", "a b", "a:b", "eth%d", "a\x00b", "a\nb", "tab\t", "é", "a\x7f", "/"}
	for _, n := range bad {
		err := ValidateName(n)
		if err == nil {
			t.Errorf("ValidateName(%q) = nil, want error", n)
		} else if !errors.Is(err, errBadName) {
			t.Errorf("ValidateName(%q) = %v, does not wrap errBadName", n, err)
		}
	}
}

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"eth0", "", ".", "a/b", "eth%d", strings.Repeat("x", 16), "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateName(s) != nil {
			return
		}
		if len(s) == 0 || len(s) > MaxNameLen || s == "." || s == ".." || strings.ContainsAny(s, "/:% \t\n\x00") {
			t.Fatalf("accepted bad name %q", s)
		}
		for _, r := range s {
			if r < 0x21 || r > 0x7e {
				t.Fatalf("accepted non-printable %q", s)
			}
		}
	})
}

func TestHostVethName(t *testing.T) {
	re := regexp.MustCompile(`^veth[0-9a-f]{7}$`)
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		n, err := HostVethName()
		if err != nil {
			t.Fatal(err)
		}
		if !re.MatchString(n) || ValidateName(n) != nil {
			t.Fatalf("bad name %q", n)
		}
		seen[n] = true
	}
	if len(seen) < 45 {
		t.Fatalf("only %d distinct names in 50", len(seen))
	}
}

func TestContainerIfName(t *testing.T) {
	if n, err := ContainerIfName(0); err != nil || n != "eth0" {
		t.Fatalf("got %q, %v", n, err)
	}
	if n, err := ContainerIfName(3); err != nil || n != "eth3" {
		t.Fatalf("got %q, %v", n, err)
	}
	for _, i := range []int{-1, 10000} {
		if _, err := ContainerIfName(i); err == nil {
			t.Fatalf("ContainerIfName(%d) accepted", i)
		}
	}
}

func TestMACFromIP(t *testing.T) {
	m, err := MACFromIP(netip.MustParseAddr("172.17.0.2"))
	if err != nil || m.String() != "02:42:ac:11:00:02" {
		t.Fatalf("got %v, %v", m, err)
	}
	if _, err := MACFromIP(netip.MustParseAddr("fd00::1")); err == nil {
		t.Fatal("IPv6 accepted")
	}
	if _, err := MACFromIP(netip.Addr{}); err == nil {
		t.Fatal("zero address accepted")
	}
	for i := 0; i < 20; i++ {
		r, err := RandomMAC()
		if err != nil {
			t.Fatal(err)
		}
		if len(r) != 6 || r[0]&1 != 0 || r[0]&2 == 0 {
			t.Fatalf("RandomMAC %v not unicast and local", r)
		}
	}
}
