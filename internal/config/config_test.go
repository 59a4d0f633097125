package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth/network/ipam"
)

func TestLoadMissingGivesDefaults(t *testing.T) {
	c, err := Load(filepath.Join(t.TempDir(), "none.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.AddressPools) != len(ipam.DefaultPools()) || c.AddressPools[0].Base.String() != "172.17.0.0/16" {
		t.Fatalf("pools = %v", c.AddressPools)
	}
}

func TestLoadPoolsAndEnv(t *testing.T) {
	p := filepath.Join(t.TempDir(), "berth.json")
	if err := os.WriteFile(p, []byte(`{"default-address-pools":[{"base":"10.200.0.0/16","size":24}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvPath, p)
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.AddressPools) != 1 || c.AddressPools[0].Base.String() != "10.200.0.0/16" || c.AddressPools[0].Size != 24 {
		t.Fatalf("pools = %v", c.AddressPools)
	}
}

// TestParseBad checks hostile and mistaken files give clear errors.
func TestParseBad(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{`, "parse"},
		{`[]`, "parse"},
		{`{"default-adress-pools":[]}`, "unknown field"},
		{`{"default-address-pools":[]}`, "is empty"},
		{`{"default-address-pools":[{"base":"10.0.0.0/8","size":4}]}`, "size 4"},
		{`{"default-address-pools":[{"base":"10.0.0.1/8","size":24}]}`, "host bits"},
		{`{"default-address-pools":[{"base":"fd00::/8","size":64}]}`, "IPv6"},
		{`{"default-address-pools":[{"base":"nope","size":24}]}`, "not a CIDR"},
		{`{"default-address-pools":[{"base":"127.0.0.0/8","size":24}]}`, "reserved"},
		{`{"default-address-pools":[{"base":"10.0.0.0/8","size":31}]}`, "between"},
		{`{"default-address-pools":[{"base":"10.0.0.0/8","size":"24"}]}`, "parse"},
		{`{} {}`, "trailing"},
	} {
		_, err := Parse([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%s) = %v, want error with %q", tc.in, err, tc.want)
		}
	}
	big := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(big, []byte(strings.Repeat(" ", maxSize+10)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Errorf("Load(big) = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"default-address-pools":[{"base":"10.200.0.0/16","size":24}]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"default-address-pools":[{"base":"0.0.0.0/0","size":32}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		for _, p := range c.AddressPools {
			if _, err := ipam.ParsePool(p.Base.String(), p.Size); err != nil {
				t.Fatalf("accepted pool %v fails its own check: %v", p, err)
			}
		}
	})
}
