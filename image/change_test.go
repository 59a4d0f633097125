package image

import (
	"reflect"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func applyChangeStrings(t *testing.T, cfg ocispec.ImageConfig, lines ...string) (ocispec.ImageConfig, error) {
	t.Helper()
	cs, err := ParseChanges(lines)
	if err != nil {
		return cfg, err
	}
	err = ApplyChanges(&cfg, cs)
	return cfg, err
}

func TestChangesApply(t *testing.T) {
	base := ocispec.ImageConfig{Env: []string{"PATH=/bin", "HOME=/root", "EMPTY="}, Cmd: []string{"sh"}, WorkingDir: "/srv"}
	cases := []struct {
		lines []string
		check func(c ocispec.ImageConfig) bool
	}{
		{[]string{`CMD ["a", "b c"]`}, func(c ocispec.ImageConfig) bool { return reflect.DeepEqual(c.Cmd, []string{"a", "b c"}) }},
		{[]string{`CMD echo "$HOME"`}, func(c ocispec.ImageConfig) bool {
			return reflect.DeepEqual(c.Cmd, []string{"/bin/sh", "-c", `echo "$HOME"`}) // no expansion in CMD
		}},
		{[]string{`CMD [not json`}, func(c ocispec.ImageConfig) bool {
			return reflect.DeepEqual(c.Cmd, []string{"/bin/sh", "-c", "[not json"})
		}},
		{[]string{`CMD []`}, func(c ocispec.ImageConfig) bool { return c.Cmd != nil && len(c.Cmd) == 0 }},
		{[]string{`ENTRYPOINT ["/init"]`}, func(c ocispec.ImageConfig) bool {
			return reflect.DeepEqual(c.Entrypoint, []string{"/init"}) && c.Cmd == nil // ENTRYPOINT resets the base's CMD
		}},
		{[]string{`CMD ["x"]`, `ENTRYPOINT ["/init"]`}, func(c ocispec.ImageConfig) bool { return reflect.DeepEqual(c.Cmd, []string{"x"}) }},
		{[]string{`entrypoint /init --flag`}, func(c ocispec.ImageConfig) bool {
			return reflect.DeepEqual(c.Entrypoint, []string{"/bin/sh", "-c", "/init --flag"})
		}},
		{[]string{`ENV PATH=$PATH:/usr/bin X="a b" Y='$HOME' Z=\$HOME`}, func(c ocispec.ImageConfig) bool {
			return reflect.DeepEqual(c.Env, []string{"PATH=/bin:/usr/bin", "HOME=/root", "EMPTY=", "X=a b", "Y=$HOME", "Z=$HOME"})
		}},
		{[]string{`ENV A=1 B=$A`}, func(c ocispec.ImageConfig) bool { // same-line refs see the old value, as Docker
			return reflect.DeepEqual(c.Env[3:], []string{"A=1", "B="})
		}},
		{[]string{"ENV A=1", "ENV B=${A}2 C=${UNSET:-def} D=${HOME:+set} E=${EMPTY:-e} F=${EMPTY-f}"}, func(c ocispec.ImageConfig) bool {
			return reflect.DeepEqual(c.Env[3:], []string{"A=1", "B=12", "C=def", "D=set", "E=e", "F="})
		}},
		{[]string{`ENV LEGACY value with   spaces`}, func(c ocispec.ImageConfig) bool { return c.Env[3] == "LEGACY=value with   spaces" }},
		{[]string{"ENV A=1 \\\n  B=2"}, func(c ocispec.ImageConfig) bool { return reflect.DeepEqual(c.Env[3:], []string{"A=1", "B=2"}) }},
		{[]string{"# comment\n\nUSER app"}, func(c ocispec.ImageConfig) bool { return c.User == "app" }},
		{[]string{`LABEL "a b"=c d="e f" g=`}, func(c ocispec.ImageConfig) bool {
			return reflect.DeepEqual(c.Labels, map[string]string{"a b": "c", "d": "e f", "g": ""})
		}},
		{[]string{`EXPOSE 80/TCP 53/udp 1-3/sctp`}, func(c ocispec.ImageConfig) bool {
			return reflect.DeepEqual(c.ExposedPorts, map[string]struct{}{"80/tcp": {}, "53/udp": {}, "1/sctp": {}, "2/sctp": {}, "3/sctp": {}})
		}},
		{[]string{`VOLUME /a "/b c" $HOME`}, func(c ocispec.ImageConfig) bool {
			return reflect.DeepEqual(c.Volumes, map[string]struct{}{"/a": {}, "/b c": {}, "/root": {}})
		}},
		{[]string{`VOLUME ["/x", "$HOME"]`}, func(c ocispec.ImageConfig) bool {
			return reflect.DeepEqual(c.Volumes, map[string]struct{}{"/x": {}, "$HOME": {}})
		}},
		{[]string{`WORKDIR app`, `WORKDIR ../x/./y`}, func(c ocispec.ImageConfig) bool { return c.WorkingDir == "/srv/x/y" }},
		{[]string{`WORKDIR $HOME/w`}, func(c ocispec.ImageConfig) bool { return c.WorkingDir == "/root/w" }},
		{[]string{`STOPSIGNAL 9`}, func(c ocispec.ImageConfig) bool { return c.StopSignal == "9" }},
		{[]string{`STOPSIGNAL sigrtmin+3`}, func(c ocispec.ImageConfig) bool { return c.StopSignal == "sigrtmin+3" }},
		{[]string{`STOPSIGNAL QUIT`}, func(c ocispec.ImageConfig) bool { return c.StopSignal == "QUIT" }},
	}
	for _, c := range cases {
		got, err := applyChangeStrings(t, base, c.lines...)
		if err != nil {
			t.Errorf("%q: %v", c.lines, err)
			continue
		}
		if !c.check(got) {
			t.Errorf("%q: config %+v", c.lines, got)
		}
	}
	// The base config's slices and maps are not changed in place.
	if !reflect.DeepEqual(base.Env, []string{"PATH=/bin", "HOME=/root", "EMPTY="}) {
		t.Fatalf("base env changed: %v", base.Env)
	}
	shared := ocispec.ImageConfig{Labels: map[string]string{"a": "1"}, Volumes: map[string]struct{}{"/v": {}}, ExposedPorts: map[string]struct{}{"1/tcp": {}}}
	if _, err := applyChangeStrings(t, shared, "LABEL a=2", "VOLUME /w", "EXPOSE 2"); err != nil {
		t.Fatal(err)
	}
	if shared.Labels["a"] != "1" || len(shared.Volumes) != 1 || len(shared.ExposedPorts) != 1 {
		t.Fatalf("caller's maps changed: %+v", shared)
	}
}

// TestChangesRefused: errors name the instruction and say what is wrong.
func TestChangesRefused(t *testing.T) {
	cases := map[string]string{
		"RUN rm -rf /":         "RUN is not a valid change command",
		"COPY a b":             "not a valid change command",
		"FROM scratch":         "not a valid change command",
		"ARG x":                "not a valid change command",
		"HEALTHCHECK CMD true": "HEALTHCHECK is not supported",
		"ONBUILD RUN x":        "ONBUILD is not supported",
		"CMD":                  "CMD requires at least one argument",
		"ENV":                  "ENV requires at least one argument",
		"ENV A=1 B":            `"B" has no '='`,
		"ENV =x":               "names can not be blank",
		"ENV A":                "no value",
		`ENV A="unterminated`:  "unmatched",
		"ENV A=${B":            "missing '}'",
		"ENV A=${B?needed}":    "B: needed",
		"ENV A=${B:?}":         "B: is not allowed to be unset",
		"ENV A=${B%x}":         "unsupported modifier",
		"ENV A=${}":            "empty variable name",
		"EXPOSE 0":             "invalid port",
		"EXPOSE 65536":         "invalid port",
		"EXPOSE 80/icmp":       "protocol",
		"EXPOSE 8080:80":       "only container ports",
		"EXPOSE 9-3":           "range ends before",
		"EXPOSE $UNSET":        "invalid port",
		"EXPOSE +80":           "invalid port",
		"VOLUME []":            "at least one path",
		`VOLUME ""`:            "can not be an empty string",
		"USER $UNSET":          "USER expands to nothing",
		"WORKDIR ${UNSET}":     "WORKDIR expands to nothing",
		"STOPSIGNAL SIGNOPE":   "invalid signal",
		"STOPSIGNAL 0":         "invalid signal number",
		"STOPSIGNAL 99":        "invalid signal number",
		"STOPSIGNAL RTMIN+99":  "invalid signal",
		"LABEL a=b c":          `"c" has no '='`,
		`LABEL 'x`:             "unmatched",
		"ENV A=" + strings.Repeat("${B:-", 40) + "x" + strings.Repeat("}", 40): "nested deeper",
	}
	for line, want := range cases {
		_, err := applyChangeStrings(t, ocispec.ImageConfig{}, line)
		if err == nil {
			t.Errorf("%q accepted", line)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %q, want it to say %q", line, err, want)
		}
		if !strings.Contains(err.Error(), "change") {
			t.Errorf("%q: error %q does not say it is about a change", line, err)
		}
	}
	if _, err := ParseChanges([]string{strings.Repeat("x", maxChangeText+1)}); err == nil {
		t.Error("oversized change accepted")
	}
}

// FuzzParseChanges: no input panics or hangs the parser or the applier,
// and a change that applies once applies the same way again.
func FuzzParseChanges(f *testing.F) {
	for _, s := range []string{
		`CMD ["a","b"]`, "ENV A=1 B=\"x y\"", "ENV LEGACY v v", `LABEL a='b' "c"=d`, "EXPOSE 80 53/udp 1-3",
		`VOLUME ["/a"]`, "VOLUME /a /b", "WORKDIR a/../b", "STOPSIGNAL SIGRTMIN+1", "USER ${U:-root}",
		"ENTRYPOINT /x", "ENV A=${B:-${C:+d}}", "ENV A=\\$x\\\n B=2", "# c\nCMD x", "ENV A=$", "ENV A=${B:",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4096 {
			return
		}
		cs, err := ParseChanges([]string{s})
		if err != nil {
			return
		}
		base := ocispec.ImageConfig{Env: []string{"A=1", "PATH=/bin"}, WorkingDir: "/w"}
		var c1, c2 ocispec.ImageConfig
		c1, c2 = base, base
		e1 := ApplyChanges(&c1, cs)
		e2 := ApplyChanges(&c2, cs)
		if (e1 == nil) != (e2 == nil) || e1 == nil && !reflect.DeepEqual(c1, c2) {
			t.Fatalf("%q applies differently twice: %v %v", s, e1, e2)
		}
		if e1 == nil && c1.WorkingDir != "" && !strings.HasPrefix(c1.WorkingDir, "/") {
			t.Fatalf("%q: relative WorkingDir %q", s, c1.WorkingDir)
		}
	})
}
