package runtime_test

import (
	"strings"
	"testing"
)

// Without HOME in process.env, the runtime sets it from the container's
// /etc/passwd, as runc does; a HOME that is set is kept.
func TestHomeFromPasswd(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		name string
		uid  uint32
		env  []string
		want string
	}{
		{"root", 0, []string{"PATH=/bin"}, "/root"},
		{"nobody", 65534, []string{"PATH=/bin"}, "/"},
		{"unknown uid", 1234, []string{"PATH=/bin"}, "/"},
		{"set", 0, []string{"PATH=/bin", "HOME=/elsewhere"}, "/elsewhere"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBundle(t, "sh", "-c", "echo $HOME")
			b.Spec.Process.User.UID = c.uid
			b.Spec.Process.Env = c.env
			out, stderr, code := e.runContainer(b)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if got := strings.TrimSpace(out); got != c.want {
				t.Fatalf("HOME %q, want %q", got, c.want)
			}
		})
	}
}
