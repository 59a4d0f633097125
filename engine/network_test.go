package engine

import (
	"testing"
)

func TestExposedPorts(t *testing.T) {
	got, err := exposedPorts(map[string]struct{}{"80/tcp": {}, "53/udp": {}, "8000-8001/tcp": {}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"53/udp", "80/tcp", "8000/tcp", "8001/tcp"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i, m := range got {
		if m.HostPort != 0 || m.String() != want[i] {
			t.Errorf("mapping %d: %+v (%s), want %s on a free host port", i, m, m, want[i])
		}
	}
	if _, err := exposedPorts(map[string]struct{}{"eighty/tcp": {}}); err == nil {
		t.Error("a bad exposed port was accepted")
	}
}

func TestNetConfigManaged(t *testing.T) {
	for mode, want := range map[string]bool{"": false, "none": false, "host": false, "container:abc": false, "bridge": true, "mynet": true} {
		if got := (&NetConfig{Mode: mode}).managed(); got != want {
			t.Errorf("managed(%q) = %v", mode, got)
		}
	}
	if (*NetConfig)(nil).managed() {
		t.Error("nil config managed")
	}
}
