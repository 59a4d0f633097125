package spec

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestPersonality(t *testing.T) {
	cases := []struct {
		p    specs.LinuxPersonality
		want uint
		err  string
	}{
		{specs.LinuxPersonality{Domain: specs.PerLinux}, 0, ""},
		{specs.LinuxPersonality{Domain: specs.PerLinux32}, 8, ""},
		{specs.LinuxPersonality{Domain: specs.PerLinux, Flags: []specs.LinuxPersonalityFlag{"ADDR_NO_RANDOMIZE"}}, 0x40000, ""},
		{specs.LinuxPersonality{Domain: ""}, 0, "linux.personality.domain"},
		{specs.LinuxPersonality{Domain: "LINUX64"}, 0, "linux.personality.domain"},
		{specs.LinuxPersonality{Domain: specs.PerLinux, Flags: []specs.LinuxPersonalityFlag{"NOPE"}}, 0, "linux.personality.flags[0]"},
	}
	for _, c := range cases {
		got, err := Personality(&c.p)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%+v: err %v, want one naming %s", c.p, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%+v = %#x, %v; want %#x", c.p, got, err, c.want)
		}
	}
	// Validate refuses a bad persona before anything is made.
	s := validSpec(t)
	s.Linux.Personality = &specs.LinuxPersonality{Domain: "x"}
	if err := Validate(s); err == nil || !strings.Contains(err.Error(), "linux.personality") {
		t.Errorf("Validate: %v", err)
	}
}
