package main

import (
	"slices"
	"testing"
)

// TestTopCommandNames checks that each entry of topCommands builds the
// command it is named for, so that the one-command tree of a berth
// process is the right one.
func TestTopCommandNames(t *testing.T) {
	full := newRootCommand(&globals{}, nil)
	var names []string
	for _, c := range topCommands() {
		cmd := c.make(&globals{})
		if cmd.Name() != c.name {
			t.Errorf("topCommands entry %q builds %q", c.name, cmd.Name())
		}
		names = append(names, c.name)
	}
	if got := len(full.Commands()); got != len(names) {
		t.Errorf("full tree has %d commands, topCommands %d", got, len(names))
	}
	if len(slices.Compact(slices.Sorted(slices.Values(names)))) != len(names) {
		t.Errorf("topCommands has a name twice: %v", names)
	}
}

// TestRootCommandFor checks which tree a command line gets.
func TestRootCommandFor(t *testing.T) {
	all := len(topCommands())
	for _, tc := range []struct {
		args []string
		want string // the one command built, "" for the whole tree
	}{
		{[]string{"run", "-d", "busybox"}, "run"},
		{[]string{"--root", "/tmp/x", "ps", "-a"}, "ps"},
		{[]string{"--root=/tmp/x", "-D", "rm", "-f", "a"}, "rm"},
		{[]string{"--runtime", "run", "ps"}, "ps"},
		{[]string{"--runroot", "/run/x", "logs", "a"}, "logs"},
		{[]string{"--snapshotter", "native", "-D", "images"}, "images"},
		{[]string{"--debug", "version"}, "version"},
		{[]string{"container", "ls"}, "container"},
		{[]string{"--help"}, ""},
		{[]string{"help", "run"}, ""},
		{[]string{"__complete", "ru"}, ""},
		{[]string{"no-such-command"}, ""},
		{[]string{"--", "run"}, ""},
		{nil, ""},
	} {
		root := newRootCommand(&globals{}, tc.args)
		cmds := root.Commands()
		if tc.want == "" {
			if len(cmds) != all {
				t.Errorf("%q: %d commands, want the whole tree (%d)", tc.args, len(cmds), all)
			}
			continue
		}
		if len(cmds) != 1 || cmds[0].Name() != tc.want {
			var got []string
			for _, c := range cmds {
				got = append(got, c.Name())
			}
			t.Errorf("%q: commands %v, want only %s", tc.args, got, tc.want)
		}
	}
}
