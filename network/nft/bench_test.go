package nft

import (
	"net/netip"
	"os"
	"strings"
	"testing"
)

// BenchmarkAddNetwork measures what each container start pays for its
// network's rules once they exist (the engine calls AddNetwork at every
// start).
func BenchmarkAddNetwork(b *testing.B) {
	if os.Getenv(envNetns) == "" {
		b.Skip("needs root to run in a private network namespace")
	}
	f, err := New()
	if err != nil {
		b.Fatal(err)
	}
	defer f.RemoveAll()
	n := Network{ID: strings.Repeat("a", 64), Bridge: "brbench", Subnet: netip.MustParsePrefix("10.96.0.0/16")}
	if err := f.AddNetwork(n); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := f.AddNetwork(n); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPorts measures publishing one port and removing it (a
// container's start and end).
func BenchmarkPorts(b *testing.B) {
	if os.Getenv(envNetns) == "" {
		b.Skip("needs root to run in a private network namespace")
	}
	f, err := New()
	if err != nil {
		b.Fatal(err)
	}
	defer f.RemoveAll()
	ports := []PortMapping{{Proto: "tcp", HostPort: 8080, HostPortEnd: 8080, ContainerPort: 80}}
	for b.Loop() {
		if err := f.AddPorts(strings.Repeat("c", 64), netip.MustParseAddr("10.96.0.2"), ports); err != nil {
			b.Fatal(err)
		}
		if err := f.RemovePorts(strings.Repeat("c", 64)); err != nil {
			b.Fatal(err)
		}
	}
}
