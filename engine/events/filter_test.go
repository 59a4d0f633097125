package events

import (
	"testing"
	"time"
)

func TestFilter(t *testing.T) {
	now := time.Unix(1764220000, 0)
	ctr := New(TypeContainer, "die", "5c3f00aa", map[string]string{"image": "busybox:latest", "name": "web", "exitCode": "0", "tier": "front"}, now)
	exec := New(TypeContainer, "exec_start: sh -c ls", "5c3f00aa", map[string]string{"image": "busybox", "name": "web", "execID": "e1"}, now)
	img := New(TypeImage, "tag", "sha256:abcd", map[string]string{"name": "busybox:mine"}, now)
	vol := New(TypeVolume, "create", "data", map[string]string{"driver": "local"}, now)
	for _, tc := range []struct {
		filter []string
		m      Message
		want   bool
	}{
		{nil, ctr, true},
		{[]string{"container=web"}, ctr, true},
		{[]string{"container=we"}, ctr, true}, // a prefix, as Docker's
		{[]string{"container=5c3f"}, ctr, true},
		{[]string{"container=db"}, ctr, false},
		{[]string{"container=db", "container=web"}, ctr, true}, // alternatives
		{[]string{"event=die"}, ctr, true},
		{[]string{"event=di"}, ctr, false}, // exact
		{[]string{"event=exec_start"}, exec, true},
		{[]string{"event=exec_create"}, exec, false},
		{[]string{"event=exec_start: sh -c ls"}, exec, true},
		{[]string{"type=container"}, ctr, true},
		{[]string{"type=image"}, ctr, false},
		{[]string{"type=container", "event=start"}, ctr, false}, // keys all apply
		{[]string{"image=busybox"}, ctr, true},                  // tag stripped
		{[]string{"image=busybox:latest"}, ctr, true},
		{[]string{"image=docker.io/library/busybox:latest"}, ctr, false}, // Docker compares as given
		{[]string{"image=alpine"}, ctr, false},
		{[]string{"image=busybox"}, img, true},
		{[]string{"image=sha256:abcd"}, img, true},
		{[]string{"image=busybox"}, vol, false},
		{[]string{"label=tier"}, ctr, true},
		{[]string{"label=tier=front"}, ctr, true},
		{[]string{"label=tier=back"}, ctr, false},
		{[]string{"label=tier=front", "label=other"}, ctr, false}, // every label
		{[]string{"volume=data"}, vol, true},
		{[]string{"volume=data"}, ctr, false},
		{[]string{"volume=other"}, vol, false},
		{[]string{"scope=local"}, vol, true},
	} {
		f, err := ParseFilter(tc.filter)
		if err != nil {
			t.Fatalf("%v: %v", tc.filter, err)
		}
		if got := f.Match(tc.m); got != tc.want {
			t.Errorf("filter %v on %s %s: got %v, want %v", tc.filter, tc.m.Type, tc.m.Action, got, tc.want)
		}
	}
}

func TestParseFilterErrors(t *testing.T) {
	for _, bad := range []string{"nokey", "foo=bar", "=x"} {
		if _, err := ParseFilter([]string{bad}); err == nil {
			t.Errorf("ParseFilter(%q): no error", bad)
		}
	}
}
