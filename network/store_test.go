package network

import (
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"berth/network/ipam"
)

// open makes a store in a temp root with injected host routes.
func open(t *testing.T, routes ...string) *Store {
	t.Helper()
	return openAt(t, t.TempDir(), routes...)
}

func openAt(t *testing.T, root string, routes ...string) *Store {
	t.Helper()
	var ps []netip.Prefix
	for _, r := range routes {
		ps = append(ps, netip.MustParsePrefix(r))
	}
	s, err := Open(root, Options{Routes: func() ([]netip.Prefix, error) { return ps, nil }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCreateInspectListRemove(t *testing.T) {
	s := open(t)
	r, err := s.Create(CreateOptions{Name: "web", Subnet: "10.50.0.0/24", Internal: true, Labels: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.ID) != 64 || r.Bridge != "br-"+r.ID[:12] || r.Gateway.String() != "10.50.0.1" || !r.UserSubnet || !r.Internal {
		t.Fatalf("record %+v", r)
	}
	for _, ref := range []string{"web", r.ID, r.ID[:12], r.ID[:1]} {
		got, err := s.Get(ref)
		if err != nil || got.ID != r.ID || got.Labels["a"] != "b" {
			t.Fatalf("Get(%s) = %+v, %v", ref, got, err)
		}
	}
	if _, err := s.Create(CreateOptions{Name: "web"}); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "network with name web already exists") {
		t.Fatalf("duplicate: %v", err)
	}
	list, err := s.List()
	if err != nil || len(list) != 1 {
		t.Fatalf("list %v %v", list, err)
	}
	if _, err := s.Remove("web"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("web"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after rm: %v", err)
	}
	// The name is free again.
	if _, err := s.Create(CreateOptions{Name: "web"}); err != nil {
		t.Fatal(err)
	}
}

// TestAmbiguousPrefix makes networks until two share a first hex digit.
func TestAmbiguousPrefix(t *testing.T) {
	s := open(t)
	seen := map[byte]string{}
	for i := 0; i < 17; i++ {
		r, err := s.Create(CreateOptions{Name: "n" + string(rune('a'+i))})
		if err != nil {
			t.Fatal(err)
		}
		if prev, ok := seen[r.ID[0]]; ok {
			if _, err := s.Get(r.ID[:1]); err == nil || !strings.Contains(err.Error(), "ambiguous") {
				t.Fatalf("prefix %s shared by %s and %s: %v", r.ID[:1], prev, r.Name, err)
			}
			return
		}
		seen[r.ID[0]] = r.Name
	}
	t.Fatal("17 ids with distinct first digits")
}

// TestCreateBadInput checks a bad request gives a clear error and creates
// nothing.
func TestCreateBadInput(t *testing.T) {
	s := open(t)
	if _, err := s.Create(CreateOptions{Name: "a", Subnet: "10.60.0.0/16"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		o    CreateOptions
		want string
	}{
		{CreateOptions{Name: ""}, "empty"},
		{CreateOptions{Name: "-x"}, "invalid network name"},
		{CreateOptions{Name: "a b"}, "invalid network name"},
		{CreateOptions{Name: "../../etc"}, "invalid network name"},
		{CreateOptions{Name: strings.Repeat("a", 200)}, "longer than"},
		{CreateOptions{Name: "bridge"}, "pre-defined"},
		{CreateOptions{Name: "host"}, "pre-defined"},
		{CreateOptions{Name: "b", Subnet: "10.60.128.0/24"}, "overlaps with network a"},
		{CreateOptions{Name: "b", Subnet: "10.0.0.0/8"}, "overlaps with network a"},
		{CreateOptions{Name: "b", Subnet: "10.61.0.0/24", Gateway: "10.62.0.1"}, "not in subnet"},
		{CreateOptions{Name: "b", Gateway: "10.62.0.1"}, "needs --subnet"},
		{CreateOptions{Name: "b", Subnet: "fd00::/64"}, "IPv6 is not supported"},
		{CreateOptions{Name: "b", Subnet: "10.61.0.1/24"}, "host bits"},
		{CreateOptions{Name: "b", Labels: map[string]string{"": "x"}}, "empty key"},
	} {
		_, err := s.Create(tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Create(%+v) = %v, want %q", tc.o.Name, err, tc.want)
		}
	}
	list, _ := s.List()
	if len(list) != 1 {
		t.Fatalf("bad input created networks: %d", len(list))
	}
	if _, err := s.Remove("bridge"); err == nil {
		t.Fatal("removed missing bridge")
	}
	if _, err := s.Default(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Remove("bridge"); !errors.Is(err, ErrPredefined) {
		t.Fatalf("rm bridge: %v", err)
	}
}

// TestDefaultAndPoolChoice checks the default network takes 172.17/16
// unless a host route covers it, and later networks skip taken ranges.
func TestDefaultAndPoolChoice(t *testing.T) {
	s := open(t, "172.17.0.0/16", "172.19.3.0/24")
	d, err := s.Default()
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "bridge" || d.Bridge != "berth0" || d.Subnet.String() != "172.18.0.0/16" || d.Gateway.String() != "172.18.0.1" || d.UserSubnet {
		t.Fatalf("default %+v", d)
	}
	again, err := s.Default()
	if err != nil || again.ID != d.ID {
		t.Fatalf("second Default made another: %v %v", again, err)
	}
	n, err := s.Create(CreateOptions{Name: "x"})
	if err != nil || n.Subnet.String() != "172.20.0.0/16" {
		t.Fatalf("next pool: %+v %v", n, err)
	}
	// A configured pool.
	cfg, err := Open(t.TempDir(), Options{
		Pools:  []ipam.Pool{{Base: netip.MustParsePrefix("10.200.0.0/16"), Size: 24}},
		Routes: func() ([]netip.Prefix, error) { return []netip.Prefix{netip.MustParsePrefix("10.200.0.0/23")}, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := cfg.Default(); err != nil || d.Subnet.String() != "10.200.2.0/24" {
		t.Fatalf("configured default: %+v %v", d, err)
	}
	// Routes that cannot be read stop the creation.
	bad, err := Open(t.TempDir(), Options{Routes: func() ([]netip.Prefix, error) { return nil, errors.New("no netlink") }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Create(CreateOptions{Name: "y"}); err == nil || !strings.Contains(err.Error(), "no netlink") {
		t.Fatalf("route error: %v", err)
	}
}

func TestPoolExhausted(t *testing.T) {
	s, err := Open(t.TempDir(), Options{
		Pools:  []ipam.Pool{{Base: netip.MustParsePrefix("10.201.0.0/23"), Size: 24}},
		Routes: func() ([]netip.Prefix, error) { return nil, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b"} {
		if _, err := s.Create(CreateOptions{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Create(CreateOptions{Name: "c"}); !errors.Is(err, ipam.ErrNoPool) {
		t.Fatalf("exhausted pools: %v", err)
	}
}

// TestDefaultConcurrent checks commands racing to make the default
// network end with one.
func TestDefaultConcurrent(t *testing.T) {
	root := t.TempDir()
	ids := make(chan string, 4)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := openAt(t, root).Default()
			if err != nil {
				t.Error(err)
				return
			}
			ids <- r.ID
		}()
	}
	wg.Wait()
	close(ids)
	first := ""
	for id := range ids {
		if first == "" {
			first = id
		} else if id != first {
			t.Fatalf("two default networks: %s %s", first, id)
		}
	}
	if list, err := openAt(t, root).List(); err != nil || len(list) != 1 {
		t.Fatalf("list %v %v", list, err)
	}
}

func TestPrune(t *testing.T) {
	s := open(t)
	if _, err := s.Default(); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"used", "idle", "kept"} {
		if _, err := s.Create(CreateOptions{Name: n, Labels: map[string]string{"keep": n}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.Allocate("used", "c1", netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	removed, err := s.Prune(func(r *Record) bool { return r.Labels["keep"] == "kept" })
	if err != nil || len(removed) != 1 || removed[0].Name != "idle" {
		t.Fatalf("prune: %v %v", removed, err)
	}
}
