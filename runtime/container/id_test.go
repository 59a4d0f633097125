package container

import (
	"strings"
	"testing"
)

func TestValidateID(t *testing.T) {
	valid := []string{
		"a", "A", "0", "_", "-", "...", ".a", "a.", "..a", "a..", "-rf", "--force",
		"my-container_1.2", "berth-demo-1234", strings.Repeat("x", MaxIDLength),
	}
	for _, id := range valid {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q): %v", id, err)
		}
	}
	invalid := []string{
		"", ".", "..",
		"a/b", "/", "../etc", "a/../b", "/etc/passwd",
		"a b", " a", "a\n", "a\t", "a\x00", "\x00",
		"a:b", "a;b", "a*", "a?", "$(id)", "`id`", "a|b", "a&b", "a>b", "a\\b",
		"é", "a\u200b", "ａ", // non-ASCII: accented, zero-width space, full-width a
		"\xff", "\xc0\xae\xc0\xae", // invalid UTF-8, overlong "..".
		strings.Repeat("x", MaxIDLength+1),
		strings.Repeat("x", 1<<20),
	}
	for _, id := range invalid {
		if err := ValidateID(id); err == nil {
			t.Errorf("ValidateID(%q) accepted", id)
		}
	}
}

func TestValidateIDErrors(t *testing.T) {
	tests := []struct{ id, want string }{
		{"", "empty"},
		{strings.Repeat("x", 256), "longer than 255"},
		{"..", `invalid container id ".."`},
		{"a/b", `invalid container id "a/b": only [A-Za-z0-9_.-] are allowed`},
	}
	for _, tc := range tests {
		err := ValidateID(tc.id)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ValidateID(%q): %v, want an error containing %q", tc.id, err, tc.want)
		}
	}
}

// FuzzValidateID: accepted ids contain only [A-Za-z0-9_.-], are 1 to 255
// bytes long and are not "." or "..", so they are safe as a file name and a
// cgroup name.
func FuzzValidateID(f *testing.F) {
	for _, s := range []string{
		"a", "berth-1", ".", "..", "...", "a/b", "../x", "a\x00", "", " ", "é",
		"\xc0\xae", strings.Repeat("a", 255), strings.Repeat("a", 256), "-", "_.-",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if ValidateID(id) != nil {
			return
		}
		if id == "" || len(id) > MaxIDLength {
			t.Fatalf("accepted id of %d bytes", len(id))
		}
		if id == "." || id == ".." {
			t.Fatalf("accepted %q", id)
		}
		for i := 0; i < len(id); i++ {
			c := id[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
				t.Fatalf("accepted %q with byte %#x", id, c)
			}
		}
	})
}
