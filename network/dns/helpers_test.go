package dns

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

const (
	testNet = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	idWeb   = "aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111"
	idDB    = "bbbbbbbbbbbb2222222222222222222222222222222222222222222222222222"
)

// newRoot makes a berth root with the test network's directory.
func newRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "networks", testNet), 0o700); err != nil {
		t.Fatal(err)
	}
	return root
}

// baseRecords are two containers on 10.89.0.0/24, domain "mynet".
func baseRecords(r *Records) error {
	r.Listen = "127.0.0.1:53"
	r.Domain = "mynet"
	r.Subnets = []string{"10.89.0.0/24", "fd00:89::/64"}
	r.Containers = []Container{
		{ID: idWeb, Names: []string{"web", "frontend"}, IPv4: []string{"10.89.0.2"}},
		{ID: idDB, Names: []string{"db", "Store"}, IPv4: []string{"10.89.0.3"}, IPv6: []string{"fd00:89::3"}},
	}
	return nil
}

// update changes the records without starting a server.
func update(t *testing.T, root string, fn func(*Records) error) {
	t.Helper()
	if err := Update(context.Background(), root, testNet, nil, fn); err != nil {
		t.Fatal(err)
	}
}
