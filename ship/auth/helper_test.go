package auth

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeHelper writes docker-credential-<name> into a temporary directory
// put first on PATH: a shell script keeping one file per server in state.
func fakeHelper(t *testing.T, name string) (state string) {
	t.Helper()
	bin := t.TempDir()
	state = t.TempDir()
	script := `#!/bin/sh
state='` + state + `'
read -r line || true
case "$1" in
store)
	server=$(printf '%s' "$line" | sed 's/.*"ServerURL":"\([^"]*\)".*/\1/')
	f=$(printf '%s' "$server" | tr '/:' '__')
	printf '%s' "$line" > "$state/$f"
	echo "$1" >> "$state/log" ;;
get)
	f=$(printf '%s' "$line" | tr '/:' '__')
	echo "$1 $line" >> "$state/log"
	if [ -f "$state/$f" ]; then cat "$state/$f"; else echo "credentials not found in native keychain"; exit 1; fi ;;
erase)
	f=$(printf '%s' "$line" | tr '/:' '__')
	echo "$1 $line" >> "$state/log"
	if [ -f "$state/$f" ]; then rm "$state/$f"; else echo "credentials not found in native keychain"; exit 1; fi ;;
*) echo "unknown action"; exit 1 ;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, helperPrefix+name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	return state
}

func TestCredsStoreHelper(t *testing.T) {
	state := fakeHelper(t, "fake")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ConfigFileName), []byte(`{"credsStore": "fake"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := s.Get(ctx, "reg.example:5000"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get before store: %v, want ErrNotFound", err)
	}
	if err := s.Put(ctx, "reg.example:5000", Credentials{Username: "u1", Password: "pw1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "docker.io", Credentials{IdentityToken: "refresh-tok"}); err != nil {
		t.Fatal(err)
	}
	// The secret went to the helper, not the file.
	data, _ := os.ReadFile(filepath.Join(dir, ConfigFileName))
	if strings.Contains(string(data), "pw1") || strings.Contains(string(data), "dTE6cHcx") {
		t.Errorf("secret written to config.json: %s", data)
	}
	stored, _ := os.ReadFile(filepath.Join(state, "reg.example_5000"))
	if string(stored) != `{"ServerURL":"reg.example:5000","Username":"u1","Secret":"pw1"}` {
		t.Errorf("helper got %s", stored)
	}
	got, err := s.Get(ctx, "reg.example:5000")
	if err != nil || got != (Credentials{Username: "u1", Password: "pw1"}) {
		t.Errorf("get: %+v %v", got, err)
	}
	got, err = s.Get(ctx, "index.docker.io")
	if err != nil || got != (Credentials{IdentityToken: "refresh-tok"}) {
		t.Errorf("get docker hub: %+v %v", got, err)
	}
	if err := s.Erase(ctx, "reg.example:5000"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "reg.example:5000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("get after erase: %v", err)
	}
	log, _ := os.ReadFile(filepath.Join(state, "log"))
	if !strings.Contains(string(log), "get https://index.docker.io/v1/") {
		t.Errorf("Docker Hub not asked under its key; helper log:\n%s", log)
	}
}

func TestCredHelpersPerRegistry(t *testing.T) {
	fakeHelper(t, "one")
	dir := t.TempDir()
	cfg := `{"credHelpers": {"a.example": "one"}, "auths": {"b.example": {"auth": "Yjpi"}}}`
	if err := os.WriteFile(filepath.Join(dir, ConfigFileName), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(t.Context(), "a.example", Credentials{Username: "a", Password: "x"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(t.Context(), "https://a.example")
	if err != nil || got.Username != "a" {
		t.Errorf("helper registry: %+v %v", got, err)
	}
	got, err = s.Get(t.Context(), "b.example")
	if err != nil || got != (Credentials{Username: "b", Password: "b"}) {
		t.Errorf("file registry: %+v %v", got, err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, ConfigFileName))
	if strings.Contains(string(data), `"a.example": {`) {
		t.Errorf("credHelpers registry got an auths entry: %s", data)
	}
}

func TestHelperMissingOrFailing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := (helper{"absent"}).get(t.Context(), "x"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("missing helper: %v", err)
	}
	if _, err := (helper{"../x"}).get(t.Context(), "x"); err == nil {
		t.Error("path in helper name accepted")
	}
}

func TestParseHelperGet(t *testing.T) {
	for in, want := range map[string]Credentials{
		`{"ServerURL":"s","Username":"u","Secret":"p"}`:       {Username: "u", Password: "p"},
		`{"ServerURL":"s","Username":"<token>","Secret":"t"}`: {IdentityToken: "t"},
	} {
		got, err := parseHelperGet([]byte(in))
		if err != nil || got != want {
			t.Errorf("%s: %+v %v", in, got, err)
		}
	}
	for _, in := range []string{``, `nope`, `[]`, `{"Username": 3}`} {
		if _, err := parseHelperGet([]byte(in)); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
	if _, err := parseHelperGet([]byte(`{}`)); !errors.Is(err, ErrNotFound) {
		t.Errorf("empty answer: %v", err)
	}
}

func FuzzParseHelperGet(f *testing.F) {
	f.Add([]byte(`{"ServerURL":"s","Username":"u","Secret":"p"}`))
	f.Add([]byte(`{"Username":"<token>","Secret":"t"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseHelperGet(data)
		if err == nil && c.Empty() {
			t.Fatal("empty credentials without error")
		}
	})
}

// TestHelperHostile: a helper gets the secret on stdin only, never as an
// argument, and an answer larger than berth reads is an error, not a
// credential.
func TestHelperHostile(t *testing.T) {
	bin, state := t.TempDir(), t.TempDir()
	script := `#!/bin/sh
printf '%s\n' "$@" > '` + state + `/args'
cat > /dev/null
if [ "$1" = get ]; then head -c 2000000 /dev/zero | tr '\0' 'a'; fi
`
	if err := os.WriteFile(filepath.Join(bin, helperPrefix+"hostile"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	h := helper{"hostile"}
	if err := h.store(t.Context(), "registry.example", Credentials{Username: "u", Password: "s3cret-pw"}); err != nil {
		t.Fatal(err)
	}
	if args, _ := os.ReadFile(filepath.Join(state, "args")); string(args) != "store\n" {
		t.Errorf("helper arguments %q, want only the action", args)
	}
	_, err := h.get(t.Context(), "registry.example")
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("2 MB answer: %v, want a size error", err)
	}
}

// TestHelperBackgroundChild: a helper that leaves a child holding its
// output open (a daemonizing agent) does not hold berth until the child
// ends: its answer is taken once it exited.
func TestHelperBackgroundChild(t *testing.T) {
	bin, state := t.TempDir(), t.TempDir()
	script := `#!/bin/sh
cat > /dev/null
sleep 20 &
echo $! > '` + state + `/pid'
echo '{"Username":"u","Secret":"p"}'
`
	if err := os.WriteFile(filepath.Join(bin, helperPrefix+"agent"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Cleanup(func() {
		if b, err := os.ReadFile(filepath.Join(state, "pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	start := time.Now()
	c, err := helper{"agent"}.get(t.Context(), "registry.example")
	if err != nil || c.Username != "u" || c.Password != "p" {
		t.Fatalf("get: %+v %v", c, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("get took %s: held by the helper's child", d)
	}
}
