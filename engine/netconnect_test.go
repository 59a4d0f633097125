package engine

import (
	"strings"
	"testing"
)

func TestFreeIfName(t *testing.T) {
	ns := &NetState{}
	if got := freeIfName(ns); got != "eth1" {
		t.Errorf("no others: %s", got)
	}
	// eth1 left (disconnect) while eth2 stays: eth1 is taken again.
	ns.Others = []NetState{{IfName: "eth2"}, {IfName: "eth3"}}
	if got := freeIfName(ns); got != "eth1" {
		t.Errorf("eth2, eth3 in use: %s", got)
	}
	ns.Others = append(ns.Others, NetState{IfName: "eth1"})
	if got := freeIfName(ns); got != "eth4" {
		t.Errorf("eth1-3 in use: %s", got)
	}
}

func TestConnectableMode(t *testing.T) {
	for _, c := range []struct {
		mode, target, want string
	}{
		{"bridge", "n1", ""},
		{"n1", "bridge", ""},
		{"n1", "host", "host network"},
		{"n1", "none", "none network"},
		{"none", "n1", "private (none) mode"},
		{"", "n1", "private (none) mode"},
		{"host", "n1", "host network"},
		{"container:abc", "n1", "sharing network namespace"},
	} {
		err := connectableMode(&Container{Net: &NetConfig{Mode: c.mode}}, c.target)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s to %s: %v", c.mode, c.target, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s to %s: %v, want %q", c.mode, c.target, err, c.want)
		}
	}
	if err := connectableMode(&Container{}, "n1"); err == nil {
		t.Error("a container without networking was connectable")
	}
}
