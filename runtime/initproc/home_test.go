package initproc

import (
	"strings"
	"testing"
)

func TestPasswdHome(t *testing.T) {
	passwd := "root:x:0:0:root:/root:/bin/sh\n" +
		"broken line\n" +
		"bad:x:notanumber:0::/bad:/bin/sh\n" +
		"rel:x:7:7::relative:/bin/sh\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
	for _, c := range []struct {
		uid  uint32
		home string
		ok   bool
	}{
		{0, "/root", true},
		{65534, "/nonexistent", true},
		{7, "", false}, // a relative home is refused
		{1000, "", false},
	} {
		home, ok := passwdHome(strings.NewReader(passwd), c.uid)
		if home != c.home || ok != c.ok {
			t.Errorf("uid %d: got %q %v, want %q %v", c.uid, home, ok, c.home, c.ok)
		}
	}
}

func TestWithHomeKeepsSetHome(t *testing.T) {
	env := []string{"PATH=/bin", "HOME=/x"}
	if got := withHome(env, 0); len(got) != 2 {
		t.Fatalf("HOME added twice: %v", got)
	}
}

func FuzzPasswdHome(f *testing.F) {
	f.Add("root:x:0:0:root:/root:/bin/sh\n", uint32(0))
	f.Add(strings.Repeat(":", 100000), uint32(0))
	f.Add("a:b:4294967296:0::/h:/s\n", uint32(0))
	f.Fuzz(func(t *testing.T, data string, uid uint32) {
		home, ok := passwdHome(strings.NewReader(data), uid)
		if ok && !strings.HasPrefix(home, "/") {
			t.Fatalf("home %q is not absolute", home)
		}
		if ok && strings.ContainsAny(home, ":\n") {
			t.Fatalf("home %q holds a separator", home)
		}
	})
}
