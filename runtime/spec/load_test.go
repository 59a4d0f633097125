package spec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// writeBundle makes a bundle in a temp dir with config (raw bytes) and an
// empty rootfs directory.
func writeBundle(t *testing.T, config []byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if config != nil {
		if err := os.WriteFile(filepath.Join(dir, ConfigName), config, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func defaultJSON(t *testing.T) []byte {
	t.Helper()
	b, err := json.MarshalIndent(mustDefault(t), "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoadDefault(t *testing.T) {
	dir := writeBundle(t, defaultJSON(t))
	s, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if want := filepath.Join(dir, "rootfs"); s.Root.Path != want {
		t.Fatalf("root.path %q, want it made absolute: %q", s.Root.Path, want)
	}
}

func TestLoadAbsoluteRoot(t *testing.T) {
	other := t.TempDir()
	s := mustDefault(t)
	s.Root.Path = other
	b, _ := json.Marshal(s)
	got, err := Load(writeBundle(t, b))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got.Root.Path != other {
		t.Fatalf("root.path %q, want %q", got.Root.Path, other)
	}
}

// TestLoadRaw: config.json's text comes back when it decodes to the spec
// (an absolute root.path), and not when Load made root.path absolute.
func TestLoadRaw(t *testing.T) {
	s := mustDefault(t)
	s.Root.Path = t.TempDir()
	b, _ := json.Marshal(s)
	got, raw, err := LoadRaw(writeBundle(t, b))
	if err != nil {
		t.Fatalf("LoadRaw: %v", err)
	}
	if string(raw) != string(b) {
		t.Errorf("absolute root.path: raw is not config.json's text")
	}
	var again specs.Spec
	if err := json.Unmarshal(raw, &again); err != nil || !reflect.DeepEqual(&again, got) {
		t.Errorf("raw decodes to another spec (%v)", err)
	}
	if _, raw, err := LoadRaw(writeBundle(t, defaultJSON(t))); err != nil || raw != nil {
		t.Errorf("relative root.path: raw %d bytes, %v; want none", len(raw), err)
	}
}

func TestLoadErrors(t *testing.T) {
	big := append([]byte(`{"ociVersion": "`), make([]byte, maxConfigSize)...)
	for i := 16; i < len(big); i++ {
		big[i] = 'a'
	}
	big = append(big, `"}`...)
	tests := []struct {
		name   string
		config []byte // nil: no config.json at all
		edit   func(t *testing.T, dir string)
		want   []string // substrings of the error
	}{
		{name: "missing config", want: []string{"open ", ConfigName, "no such file"}},
		{name: "empty config", config: []byte{}, want: []string{"invalid JSON at line 1, column 1", "unexpected end"}},
		{
			name:   "syntax error",
			config: []byte("{\n\t\"ociVersion\": \"1.0.2\",\n\t\"root\": {\"path\": \"rootfs\",}\n}\n"),
			// The stray '}' after the comma is on line 3, column 28.
			want: []string{ConfigName, "invalid JSON at line 3, column 28"},
		},
		{
			name:   "syntax error on the first byte",
			config: []byte("x"),
			want:   []string{"invalid JSON at line 1, column 1"},
		},
		{
			name:   "cut short",
			config: []byte("{\n\"root\": {\"path\": \"rootfs\"}"),
			want:   []string{"invalid JSON at line 2, column 27", "unexpected end of JSON input"},
		},
		{
			name:   "trailing garbage",
			config: []byte(`{"ociVersion": "1.0.2"} {}`),
			want:   []string{"invalid JSON at line 1, column 25"},
		},
		{
			name:   "wrong type names the field",
			config: []byte(`{"root": {"path": "rootfs"}, "process": {"args": "sh"}}`),
			want:   []string{ConfigName, "process.args: cannot use JSON string"},
		},
		{
			name:   "wrong type at the top level",
			config: []byte(`["not", "an", "object"]`),
			want:   []string{"top level: cannot use JSON array"},
		},
		{
			name:   "negative uid",
			config: []byte(`{"process": {"user": {"uid": -1}}}`),
			want:   []string{"process.user.uid: cannot use JSON number -1"},
		},
		{
			name:   "oversized config",
			config: big,
			want:   []string{"read ", ConfigName, "larger than 16777216 bytes"},
		},
		{
			name:   "invalid config names the field",
			config: []byte(`{"root": {"path": "rootfs"}, "linux": {"namespaces": [{"type": "mount"}, {"type": "mount"}]}}`),
			want:   []string{ConfigName, "linux.namespaces[1].type: duplicate"},
		},
		{
			name:   "missing rootfs",
			config: []byte(`{"root": {"path": "nonexistent"}, "linux": {"namespaces": [{"type": "mount"}]}}`),
			want:   []string{"root.path", "no such file"},
		},
		{
			name:   "rootfs is a file",
			config: []byte(`{"root": {"path": "file"}, "linux": {"namespaces": [{"type": "mount"}]}}`),
			edit: func(t *testing.T, dir string) {
				if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"root.path", "is not a directory"},
		},
		{
			name: "config is a directory",
			edit: func(t *testing.T, dir string) {
				if err := os.Mkdir(filepath.Join(dir, ConfigName), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{ConfigName},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeBundle(t, tc.config)
			if tc.edit != nil {
				tc.edit(t, dir)
			}
			_, err := Load(dir)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load: %v\nwant an error containing %q", err, w)
				}
			}
		})
	}
}

func TestLoadConfigAtSizeLimit(t *testing.T) {
	// A config of exactly maxConfigSize bytes is still read (and here
	// accepted: the padding is whitespace).
	b := defaultJSON(t)
	pad := make([]byte, maxConfigSize-len(b))
	for i := range pad {
		pad[i] = ' '
	}
	if _, err := Load(writeBundle(t, append(b, pad...))); err != nil {
		t.Fatalf("Load of a config of exactly %d bytes: %v", maxConfigSize, err)
	}
}

func TestPosition(t *testing.T) {
	data := []byte("ab\ncd\n\nef")
	tests := []struct {
		off       int64
		line, col int
	}{
		{0, 1, 1}, {1, 1, 2}, {2, 1, 3}, {3, 2, 1}, {4, 2, 2}, {6, 3, 1}, {7, 4, 1}, {8, 4, 2},
		{9, 4, 3}, {100, 4, 3}, {-1, 1, 1},
	}
	for _, tc := range tests {
		line, col := position(data, tc.off)
		if line != tc.line || col != tc.col {
			t.Errorf("position(%d) = %d:%d, want %d:%d", tc.off, line, col, tc.line, tc.col)
		}
	}
}
