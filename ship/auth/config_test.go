package auth

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseConfigAuths(t *testing.T) {
	data := `{
		"auths": {
			"https://index.docker.io/v1/": {"auth": "YWxpY2U6czNjcmV0"},
			"registry.example:5000": {"auth": "Ym9iOnA6YTpzcw=="},
			"https://ghcr.io": {"identitytoken": "tok", "auth": "Y2Fyb2w6"}
		},
		"psFormat": "table {{.ID}}",
		"proxies": {"default": {"httpProxy": "http://proxy:3128"}}
	}`
	c, err := ParseConfig([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		server string
		want   Credentials
	}{
		{"docker.io", Credentials{Username: "alice", Password: "s3cret"}},
		{"index.docker.io", Credentials{Username: "alice", Password: "s3cret"}},
		{"registry-1.docker.io", Credentials{Username: "alice", Password: "s3cret"}},
		{"registry.example:5000", Credentials{Username: "bob", Password: "p:a:ss"}},
		{"https://registry.example:5000/v2/", Credentials{Username: "bob", Password: "p:a:ss"}},
		{"ghcr.io", Credentials{Username: "carol", IdentityToken: "tok"}},
	}
	for _, tc := range cases {
		_, e, ok := c.findAuth(tc.server)
		if !ok {
			t.Errorf("%s: no entry found", tc.server)
			continue
		}
		got, err := e.Credentials()
		if err != nil || got != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v", tc.server, got, err, tc.want)
		}
	}
	if _, _, ok := c.findAuth("registry.example:5001"); ok {
		t.Error("a different port matched")
	}
}

func TestParseConfigHostile(t *testing.T) {
	for _, data := range []string{
		`[]`, `"x"`, `null`, `{"auths": []}`, `{"auths": {"h": {"auth": 5}}}`,
		`{"credsStore": "../../bin/sh"}`, `{"credHelpers": {"h": "a/b"}}`, `{"credsStore": ".."}`, `{`,
	} {
		if _, err := ParseConfig([]byte(data)); err == nil {
			t.Errorf("%s: accepted", data)
		}
	}
	for _, auth := range []string{"!!!notbase64", "bm9jb2xvbg=="} { // "nocolon"
		e := AuthEntry{Auth: auth}
		if _, err := e.Credentials(); err == nil {
			t.Errorf("auth %q: accepted", auth)
		}
	}
}

func TestSaveKeepsOtherKeysAndMode(t *testing.T) {
	dir := t.TempDir()
	orig := `{"psFormat": "table {{.ID}}", "auths": {"old.example": {"auth": "eDp5"}}, "experimental": "enabled"}`
	if err := os.WriteFile(filepath.Join(dir, ConfigFileName), []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(t.Context(), "new.example:443", Credentials{Username: "u", Password: "p"}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, ConfigFileName))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	data, _ := os.ReadFile(filepath.Join(dir, ConfigFileName))
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m["psFormat"] != "table {{.ID}}" || m["experimental"] != "enabled" {
		t.Errorf("other keys lost: %s", data)
	}
	auths := m["auths"].(map[string]any)
	if auths["new.example:443"].(map[string]any)["auth"] != "dTpw" || auths["old.example"] == nil {
		t.Errorf("auths: %s", data)
	}
	// No temporary file is left beside it.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d files, want 1", len(ents))
	}
	// Reopened, the credentials are there; erased, they are gone.
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s2.Get(t.Context(), "https://new.example:443")
	if err != nil || got.Username != "u" || got.Password != "p" {
		t.Fatalf("get: %+v %v", got, err)
	}
	if err := s2.Erase(t.Context(), "new.example:443"); err != nil {
		t.Fatal(err)
	}
	if err := s2.Erase(t.Context(), "new.example:443"); err != ErrNotFound {
		t.Errorf("second erase: %v, want ErrNotFound", err)
	}
	data, _ = os.ReadFile(filepath.Join(dir, ConfigFileName))
	if strings.Contains(string(data), "new.example") {
		t.Errorf("erased entry still in file: %s", data)
	}
}

func TestDockerHubKey(t *testing.T) {
	for in, want := range map[string]string{
		"": DockerHubKey, "docker.io": DockerHubKey, "https://index.docker.io/v1/": DockerHubKey,
		"registry-1.docker.io": DockerHubKey, "Quay.IO": "quay.io", "http://127.0.0.1:5000/v2/": "127.0.0.1:5000",
	} {
		if got := Key(in); got != want {
			t.Errorf("Key(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"auths": {"https://index.docker.io/v1/": {"auth": "YWxpY2U6czNjcmV0"}}, "credsStore": "pass"}`))
	f.Add([]byte(`{"credHelpers": {"gcr.io": "gcloud"}, "other": [1, 2]}`))
	f.Add([]byte(`{"auths": {"h": {"auth": "!!"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		for _, e := range c.Auths {
			e.Credentials()
		}
		out, err := c.Marshal()
		if err != nil {
			t.Fatalf("marshal of a parsed file: %v", err)
		}
		c2, err := ParseConfig(out)
		if err != nil {
			t.Fatalf("reparse: %v\n%s", err, out)
		}
		if len(c2.Auths) != len(c.Auths) || c2.CredsStore != c.CredsStore || len(c2.CredHelpers) != len(c.CredHelpers) {
			t.Fatalf("round trip changed the file:\n%s", out)
		}
	})
}
