package cgprime

import (
	"strings"
	"testing"
)

// TestCreates checks which command lines the constructor primes for:
// create and run, after any global flags, and nothing else.
func TestCreates(t *testing.T) {
	for line, want := range map[string]bool{
		"berth-runtime create --bundle b c1":                           true,
		"berth-runtime run -d --bundle b c1":                           true,
		"berth-runtime --root /run/x create c1":                        true,
		"berth-runtime --root=/run/x --debug run c1":                   true,
		"berth-runtime --log /l --log-format json --rootless auto run": true,
		"berth-runtime --root create start c1":                         false, // "create" is --root's value
		"berth-runtime start c1":                                       false,
		"berth-runtime delete --force run":                             false,
		"berth-runtime init":                                           false,
		"berth-runtime --version":                                      false,
		"berth-runtime -- run":                                         false,
		"berth-runtime":                                                false,
	} {
		if got := creates(strings.Fields(line)); got != want {
			t.Errorf("%q: primes %v, want %v", line, got, want)
		}
	}
}

// TestFind: the first hierarchy without controllers, and nothing after it
// is read; escaped paths are left alone.
func TestFind(t *testing.T) {
	v1 := "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
	systemd := "40 31 0:37 /init.scope /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
	unified := "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
	for _, c := range []struct {
		text, want, mnt, root string
		ok                    bool
	}{
		{v1 + systemd + unified, "name=systemd", "/sys/fs/cgroup/systemd", "/init.scope", true},
		{v1 + unified + systemd, "", "/sys/fs/cgroup/unified", "/", true},
		{"29 23 0:26 / /sys/fs/cgroup rw shared:4 - cgroup2 cgroup2 rw,nsdelegate\n", "", "/sys/fs/cgroup", "/", true},
		// What follows the first is not looked at, broken or not.
		{systemd + "x - \n" + strings.Repeat("z", 5000), "name=systemd", "/sys/fs/cgroup/systemd", "/init.scope", true},
		{v1, "", "", "", false},
		{`41 31 0:38 / /sys/fs/cgroup/uni\040fied rw - cgroup2 cgroup2 rw` + "\n", "", "", "", false},
		{"41 31 0:38 / - cgroup2\n - \n\n", "", "", "", false},
		{"", "", "", "", false},
	} {
		want, mnt, root, ok := find(c.text)
		if ok != c.ok || want != c.want || mnt != c.mnt || root != c.root {
			t.Errorf("%q: %q %q %q %v, want %q %q %q %v", c.text, want, mnt, root, ok, c.want, c.mnt, c.root, c.ok)
		}
	}
}
