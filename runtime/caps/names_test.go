package caps

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		want int
	}{
		{"CAP_CHOWN", 0},
		{"CHOWN", 0},
		{"chown", 0},
		{"cap_chown", 0},
		{"Cap_Chown", 0},
		{"CAP_KILL", 5},
		{"CAP_NET_BIND_SERVICE", 10},
		{"sys_admin", 21},
		{"CAP_SYS_ADMIN", 21},
		{"CAP_AUDIT_WRITE", 29},
		{"CAP_AUDIT_READ", 37},
		{"perfmon", 38},
		{"CAP_BPF", 39},
		{"CAP_CHECKPOINT_RESTORE", 40},
	}
	for _, tc := range tests {
		got, err := Parse(tc.name)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.name, err)
			continue
		}
		if got != tc.want {
			t.Errorf("Parse(%q) = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, name := range []string{
		"",
		"CAP_",
		"cap_",
		"CAP_BOGUS",
		"ALL",
		"CAP_CAP_CHOWN",
		" CAP_CHOWN",
		"CAP_CHOWN ",
		"CAP_CHOWN\x00",
		"CAP-CHOWN",
		"0",
		"21",
		// Unicode case mapping must not turn these into real names.
		"CAP_ſYS_ADMIN", // U+017F LATIN SMALL LETTER LONG S upper-cases to S
		"cap_ıpc_lock",  // U+0131 LATIN SMALL LETTER DOTLESS I upper-cases to I
		"CAP_SYS_ADMİN", // U+0130
	} {
		_, err := Parse(name)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", name)
			continue
		}
		if !strings.Contains(err.Error(), "unknown capability") || !strings.Contains(err.Error(), strings.TrimSuffix(name, "\x00")) {
			t.Errorf("Parse(%q): %v, want an error naming it", name, err)
		}
	}
}

func TestKnown(t *testing.T) {
	k := Known()
	if len(k) != 41 || k[0] != "CAP_CHOWN" || k[40] != "CAP_CHECKPOINT_RESTORE" {
		t.Fatalf("Known() = %v", k)
	}
	for i, n := range k {
		if c, err := Parse(n); err != nil || c != i {
			t.Errorf("Parse(%q) = %d, %v; want %d", n, c, err, i)
		}
	}
	k[0] = "changed"
	if Known()[0] != "CAP_CHOWN" {
		t.Fatal("Known returned its internal array")
	}
}

func TestSetOf(t *testing.T) {
	tests := []struct {
		name    string
		list    []string
		lastCap int
		want    Set
		wantErr string
	}{
		{"empty", nil, 40, 0, ""},
		{"some", []string{"CAP_CHOWN", "kill", "CAP_SYS_ADMIN"}, 40, 1<<0 | 1<<5 | 1<<21, ""},
		{"duplicates", []string{"CAP_KILL", "kill", "cap_kill"}, 40, 1 << 5, ""},
		{"all known", Known(), 40, 1<<41 - 1, ""},
		{"names above lastCap are skipped", []string{"CAP_CHOWN", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"}, 38, 1, ""},
		{"lastCap itself is kept", []string{"CAP_BPF", "CAP_CHECKPOINT_RESTORE"}, 39, 1 << 39, ""},
		{"old kernel", Known(), 36, 1<<37 - 1, ""},
		{"unknown name", []string{"CAP_CHOWN", "CAP_BOGUS"}, 40, 0, `unknown capability "CAP_BOGUS"`},
		{"unknown name above lastCap is still an error", []string{"CAP_BOGUS"}, 0, 0, "CAP_BOGUS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SetOf(tc.list, tc.lastCap)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("SetOf: %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("SetOf: %v", err)
			}
			if got != tc.want {
				t.Fatalf("SetOf = %#x, want %#x", uint64(got), uint64(tc.want))
			}
		})
	}
}

func TestSetHas(t *testing.T) {
	s, err := SetOf([]string{"CAP_KILL", "CAP_CHECKPOINT_RESTORE"}, 40)
	if err != nil {
		t.Fatal(err)
	}
	for c := 0; c <= 40; c++ {
		if want := c == 5 || c == 40; s.Has(c) != want {
			t.Errorf("Has(%d) = %v, want %v", c, s.Has(c), want)
		}
	}
}

func TestLastCap(t *testing.T) {
	n, err := LastCap()
	if err != nil {
		t.Skipf("no /proc/sys/kernel/cap_last_cap: %v", err)
	}
	// Every kernel berth supports knows at least CAP_AUDIT_READ (3.16).
	if n < 37 || n > 63 {
		t.Fatalf("LastCap() = %d", n)
	}
}

// FuzzParseCapability: Parse never panics, and accepts exactly the known
// names, with an optional CAP_ prefix, in any ASCII case.
func FuzzParseCapability(f *testing.F) {
	for _, s := range []string{"CAP_CHOWN", "chown", "cap_sys_admin", "CAP_", "", "CAP_ſYS_ADMIN", "CAP_CAP_KILL", "\x00", "cap_checkpoint_restore"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		c, err := Parse(name)
		if err != nil {
			return
		}
		if c < 0 || c >= len(names) {
			t.Fatalf("Parse(%q) = %d, out of range", name, c)
		}
		canon := strings.ToUpper(name)
		if !strings.HasPrefix(canon, "CAP_") {
			canon = "CAP_" + canon
		}
		if canon != names[c] || len(name) > len(names[c]) {
			t.Fatalf("Parse(%q) = %d (%s)", name, c, names[c])
		}
	})
}
