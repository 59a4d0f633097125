package network

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestDamagedRecord writes hostile records straight into the file and
// checks every reader refuses them with an error naming the record.
func TestDamagedRecord(t *testing.T) {
	root := t.TempDir()
	s := openAt(t, root)
	good, err := s.Create(CreateOptions{Name: "good", Subnet: "10.80.0.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, mutate, want string }{
		{"garbage", `{`, "network record"},
		{"bad subnet", `"subnet":"0.0.0.0/0"`, "reserved"},
		{"gateway outside", `"gateway":"1.1.1.1"`, "not in subnet"},
		{"bad bridge", `"bridge":"eth0"`, "bridge"},
		{"bad name", `"name":"../x"`, "invalid network name"},
		{"bad driver", `"driver":"macvlan"`, "unknown driver"},
	} {
		b, _ := json.Marshal(good)
		data := string(b)
		if tc.mutate == "{" {
			data = "{"
		} else {
			key := tc.mutate[:strings.Index(tc.mutate, ":")]
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			var v any
			_ = json.Unmarshal([]byte(tc.mutate[len(key)+1:]), &v)
			m[strings.Trim(key, `"`)] = v
			nb, _ := json.Marshal(m)
			data = string(nb)
		}
		db, err := bolt.Open(filepath.Join(root, "networks", "networks.db"), 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketNetworks).Put([]byte(good.ID), []byte(data))
		}); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if _, err := s.List(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: List = %v, want %q", tc.name, err, tc.want)
		}
		if _, err := s.Get(good.ID); err == nil {
			t.Errorf("%s: Get accepted the record", tc.name)
		}
		if _, err := s.Create(CreateOptions{Name: "new"}); err == nil {
			t.Errorf("%s: Create went on past a damaged record", tc.name)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add([]byte(`{"id":"` + strings.Repeat("ab", 32) + `","name":"n","driver":"bridge","bridge":"br-abababababab","subnet":"10.1.0.0/24","gateway":"10.1.0.1","created":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"id":"` + strings.Repeat("0", 64) + `","name":"bridge","driver":"bridge","bridge":"berth0","subnet":"172.17.0.0/16","gateway":"172.17.0.1"}`))
	f.Add([]byte(`{"subnet":"fd00::/64"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := decodeRecord(data)
		if err != nil {
			return
		}
		if len(r.ID) != 64 || ValidateName(r.Name) != nil || r.Bridge != BridgeName(r.Name, r.ID) ||
			!r.Subnet.Contains(r.Gateway) || !r.Subnet.Addr().Is4() {
			t.Fatalf("accepted %+v", r)
		}
		if _, err := encodeRecord(r); err != nil {
			t.Fatalf("accepted record does not encode: %v", err)
		}
	})
}

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"web", "a.b_c-d", "-x", "", "a/b", "ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidateName(name) != nil {
			return
		}
		if len(name) > MaxNameLen || strings.ContainsAny(name, "/ \x00:") || name[0] == '-' || name[0] == '.' {
			t.Fatalf("accepted %q", name)
		}
	})
}
