package ocispec

import "testing"

func TestEnv(t *testing.T) {
	host := map[string]string{"FROMHOST": "h", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := host[k]; return v, ok }
	for _, c := range []struct {
		name  string
		image []string
		user  []string
		tty   bool
		want  []string
	}{
		{name: "defaults", want: []string{"PATH=" + defaultPath, "HOSTNAME=h1"}},
		{name: "tty", tty: true, want: []string{"PATH=" + defaultPath, "HOSTNAME=h1", "TERM=xterm"}},
		{name: "image path replaces default", image: []string{"PATH=/x", "A=1"}, want: []string{"PATH=/x", "HOSTNAME=h1", "A=1"}},
		{name: "user overrides image", image: []string{"A=1", "B=2"}, user: []string{"B=3", "C=4"},
			want: []string{"PATH=" + defaultPath, "HOSTNAME=h1", "B=3", "C=4", "A=1"}},
		{name: "from host", user: []string{"FROMHOST", "EMPTY"}, want: []string{"PATH=" + defaultPath, "HOSTNAME=h1", "FROMHOST=h", "EMPTY="}},
		{name: "missing on host unsets", image: []string{"GONE=1", "A=1"}, user: []string{"GONE"},
			want: []string{"PATH=" + defaultPath, "HOSTNAME=h1", "A=1"}},
		{name: "unset a default", user: []string{"HOSTNAME"}, want: []string{"PATH=" + defaultPath}},
		{name: "later wins", user: []string{"A=1", "A=2"}, want: []string{"PATH=" + defaultPath, "HOSTNAME=h1", "A=2"}},
		{name: "user sets TERM", tty: true, user: []string{"TERM=vt100"}, want: []string{"PATH=" + defaultPath, "HOSTNAME=h1", "TERM=vt100"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := Options{Env: c.user, HostEnv: lookup, TTY: c.tty}
			o.Image.Env = c.image
			got, err := env(&o, "h1")
			if err != nil || !equal(got, c.want) {
				t.Fatalf("env = %q, %v\nwant %q", got, err, c.want)
			}
		})
	}
	for _, bad := range []string{"=x", "", "A=\x00"} {
		o := Options{Env: []string{bad}}
		_, err := env(&o, "h")
		wantErr(t, err, "-e", "invalid environment variable")
	}
	o := Options{}
	o.Image.Env = []string{"NOVALUE"}
	_, err := env(&o, "h")
	wantErr(t, err, "image Env")
}
