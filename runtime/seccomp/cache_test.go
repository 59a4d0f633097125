package seccomp

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestCachedCompilesOnceAndSurvivesDamage(t *testing.T) {
	dir := t.TempDir()
	cfg := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActErrno}},
	}
	first, err := Cached(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(entries) != 1 {
		t.Fatalf("cache entries %v, want one", entries)
	}
	again, err := Cached(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first.Prog, again.Prog) || first.Flags != again.Flags {
		t.Fatal("cached filter differs from the compiled one")
	}
	// A damaged entry is compiled again, not loaded.
	if err := os.WriteFile(entries[0], []byte(`{"prog":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	fixed, err := Cached(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first.Prog, fixed.Prog) {
		t.Fatal("damaged entry not recompiled")
	}
	// Another profile is another entry; a bad one is an error, not cached.
	other := *cfg
	other.DefaultAction = specs.ActErrno
	if _, err := Cached(dir, &other); err != nil {
		t.Fatal(err)
	}
	bad := *cfg
	bad.DefaultAction = "SCMP_ACT_NOPE"
	if _, err := Cached(dir, &bad); err == nil {
		t.Fatal("bad profile accepted")
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, "*.json")); len(entries) != 2 {
		t.Fatalf("cache entries %v, want two", entries)
	}
}
