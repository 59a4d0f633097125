package layer

import (
	"errors"
	"path"
	"strings"
	"testing"
)

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"a":            "a",
		"./a/b/":       "a/b",
		"/etc/passwd":  "etc/passwd",
		"//a//b/./c":   "a/b/c",
		"a/../b":       "b",
		"/":            ".",
		"./":           ".",
		"a/..":         ".",
		"/a/../b/../c": "c",
	} {
		if got, err := cleanName(in); err != nil || got != want {
			t.Errorf("cleanName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"..", "../a", "a/../../b", "/abs/../../x", "a/b/../../..", "./../x"} {
		if _, err := cleanName(in); !errors.Is(err, ErrBreakout) {
			t.Errorf("cleanName(%q): %v, want ErrBreakout", in, err)
		}
	}
	for _, in := range []string{"", "a\x00b"} {
		if _, err := cleanName(in); err == nil {
			t.Errorf("cleanName(%q) accepted", in)
		}
	}
}

// FuzzCleanName wants every accepted name clean, relative and never
// climbing out.
func FuzzCleanName(f *testing.F) {
	for _, s := range []string{"a/../b", "../x", "/abs/../../x", "./", "a//b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, err := cleanName(name)
		if err != nil {
			return
		}
		if got == "" || strings.HasPrefix(got, "/") || got == ".." || strings.HasPrefix(got, "../") || path.Clean(got) != got {
			t.Fatalf("cleanName(%q) = %q", name, got)
		}
	})
}
