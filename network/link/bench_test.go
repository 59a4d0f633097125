package link

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkContainerNetwork measures what networking adds to a container
// start and stop: netns file, veth on a bridge, address, routes, then
// detach and removal.
func BenchmarkContainerNetwork(b *testing.B) {
	if os.Getenv(privateEnv) != "1" {
		b.Skip("needs root (runs in a private network namespace)")
	}
	if err := EnsureBridge(BridgeConfig{Name: "brbench0", Gateway: netip.MustParsePrefix("10.95.0.1/24")}); err != nil {
		b.Fatal(err)
	}
	defer RemoveBridge("brbench0")
	p := filepath.Join(b.TempDir(), "ns")
	var phase [4]time.Duration // create, attach, detach, remove
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := CreateNetns(p); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		_, err := Attach(AttachConfig{Netns: p, Bridge: "brbench0", Address: netip.MustParsePrefix("10.95.0.2/24"), Gateway: netip.MustParseAddr("10.95.0.1")})
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if err := Detach(p, "eth0"); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		if err := RemoveNetns(p); err != nil {
			b.Fatal(err)
		}
		t4 := time.Now()
		for j, d := range []time.Duration{t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), t4.Sub(t3)} {
			phase[j] += d
		}
	}
	for j, name := range []string{"create-µs/op", "attach-µs/op", "detach-µs/op", "remove-µs/op"} {
		b.ReportMetric(float64(phase[j].Microseconds())/float64(b.N), name)
	}
}
