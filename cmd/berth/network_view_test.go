package main

import (
	"strings"
	"testing"

	"berth/network"
)

func TestNetFilterHostile(t *testing.T) {
	v := netView{ID: strings.Repeat("ab", 32), Name: "web", Driver: "bridge", Rec: &network.Record{Labels: map[string]string{"a": "b=c"}}}
	for _, c := range []struct {
		args []string
		want bool
	}{
		{[]string{"name=("}, false},          // an invalid pattern matches nothing
		{[]string{"name=(a*)*$"}, true},      // linear time, matches ""
		{[]string{"label=a=b=c"}, true},      // the value keeps its '='
		{[]string{"label=a=b"}, false},       // values are exact
		{[]string{"dangling=true"}, true},    // unused
		{[]string{"type=builtin"}, false},    // a user network
		{[]string{"id=" + v.ID[:3]}, true},   // a prefix
		{[]string{"name=x", "name=w"}, true}, // alternatives
	} {
		f, err := parseNetFilter(c.args)
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if got := f.match(v, func(netView) bool { return false }); got != c.want {
			t.Errorf("%v: %v, want %v", c.args, got, c.want)
		}
	}
	for _, bad := range []string{"name", "color=red", "type=other", ""} {
		if _, err := parseNetFilter([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzNetFilter: any filter either is refused or matches without panic.
func FuzzNetFilter(f *testing.F) {
	for _, s := range []string{"name=web", "label=a=b", "id=(", "dangling=1", "type=custom", "name=\x00"} {
		f.Add(s)
	}
	v := netView{ID: strings.Repeat("0", 64), Name: "n", Driver: "bridge", Rec: &network.Record{}}
	f.Fuzz(func(t *testing.T, s string) {
		nf, err := parseNetFilter([]string{s})
		if err != nil {
			return
		}
		nf.match(v, nil)
		nf.match(netView{ID: v.ID, Name: "host", Driver: "host"}, func(netView) bool { return true })
	})
}
