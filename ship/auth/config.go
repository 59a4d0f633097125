package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ConfigFileName is the file in the config directory.
const ConfigFileName = "config.json"

// maxConfig bounds the config.json read.
const maxConfig = 16 << 20

// Credentials are what a registry login needs.
type Credentials struct {
	Username string
	Password string
	// IdentityToken is an OAuth2 refresh token given instead of a
	// password (a helper's "<token>" user).
	IdentityToken string
	// RegistryToken is a bearer token sent as is.
	RegistryToken string
}

// Empty reports whether c holds nothing.
func (c Credentials) Empty() bool { return c == Credentials{} }

// AuthEntry is one entry of "auths".
type AuthEntry struct {
	Auth          string `json:"auth,omitempty"`
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	Email         string `json:"email,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
	RegistryToken string `json:"registrytoken,omitempty"`
}

// ConfigFile is Docker's config.json: the keys berth uses, and every other
// key kept as it was so that saving does not lose the settings of other
// tools.
type ConfigFile struct {
	Auths       map[string]AuthEntry
	CredsStore  string
	CredHelpers map[string]string
	other       map[string]json.RawMessage
}

// DefaultDir is Docker's config directory: $DOCKER_CONFIG, else
// $HOME/.docker.
func DefaultDir() (string, error) {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("docker config directory: %w", err)
	}
	return filepath.Join(home, ".docker"), nil
}

// ParseConfig decodes a config.json. Empty data is an empty file.
func ParseConfig(data []byte) (*ConfigFile, error) {
	c := &ConfigFile{Auths: map[string]AuthEntry{}, CredHelpers: map[string]string{}, other: map[string]json.RawMessage{}}
	if len(bytes.TrimSpace(data)) == 0 {
		return c, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parse config.json: %w", err)
	}
	if raw == nil {
		return nil, errors.New("parse config.json: not a JSON object")
	}
	for k, v := range raw {
		var err error
		switch k {
		case "auths":
			err = json.Unmarshal(v, &c.Auths)
		case "credsStore":
			err = json.Unmarshal(v, &c.CredsStore)
		case "credHelpers":
			err = json.Unmarshal(v, &c.CredHelpers)
		default:
			c.other[k] = v
		}
		if err != nil {
			return nil, fmt.Errorf("parse config.json: %q: %w", k, err)
		}
	}
	if c.Auths == nil {
		c.Auths = map[string]AuthEntry{}
	}
	if c.CredHelpers == nil {
		c.CredHelpers = map[string]string{}
	}
	if err := checkHelperName(c.CredsStore); err != nil {
		return nil, fmt.Errorf("parse config.json: credsStore: %w", err)
	}
	for host, h := range c.CredHelpers {
		if err := checkHelperName(h); err != nil {
			return nil, fmt.Errorf("parse config.json: credHelpers[%q]: %w", host, err)
		}
	}
	return c, nil
}

// LoadConfig reads dir/config.json; a missing file is an empty one.
func LoadConfig(dir string) (*ConfigFile, error) {
	path := filepath.Join(dir, ConfigFileName)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return ParseConfig(nil)
	}
	if err != nil {
		return nil, fmt.Errorf("docker config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfig+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxConfig {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxConfig)
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Marshal encodes c as config.json, tab-indented as Docker writes it.
func (c *ConfigFile) Marshal() ([]byte, error) {
	out := make(map[string]any, len(c.other)+3)
	for k, v := range c.other {
		out[k] = v
	}
	out["auths"] = c.Auths
	if c.CredsStore != "" {
		out["credsStore"] = c.CredsStore
	}
	if len(c.CredHelpers) > 0 {
		out["credHelpers"] = c.CredHelpers
	}
	data, err := json.MarshalIndent(out, "", "\t")
	if err != nil {
		return nil, fmt.Errorf("encode config.json: %w", err)
	}
	return append(data, '\n'), nil
}

// Save writes c to dir/config.json atomically (a temporary file renamed
// over it), mode 0600, creating dir (0700) if needed.
func (c *ConfigFile) Save(dir string) error {
	data, err := c.Marshal()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("docker config directory: %w", err)
	}
	path := filepath.Join(dir, ConfigFileName)
	// A symlinked config.json (dotfile managers) is written through.
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config.json.*")
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("save %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	return nil
}

// findAuth returns the "auths" entry for server: the exact key, else the
// first key naming the same host (Docker matches "https://host/v1/" and
// "host" alike).
func (c *ConfigFile) findAuth(server string) (string, AuthEntry, bool) {
	key := Key(server)
	if e, ok := c.Auths[key]; ok {
		return key, e, true
	}
	host := Hostname(server)
	for k, e := range c.Auths {
		if Hostname(k) == host {
			return k, e, true
		}
	}
	return "", AuthEntry{}, false
}

// helperFor names the credential helper for server: its credHelpers
// entry, else credsStore, else "" (credentials in the file).
func (c *ConfigFile) helperFor(server string) string {
	if h, ok := c.CredHelpers[Key(server)]; ok {
		return h
	}
	host := Hostname(server)
	for k, h := range c.CredHelpers {
		if Hostname(k) == host {
			return h
		}
	}
	return c.CredsStore
}

// Credentials decodes an entry: "auth" is base64 of user:password.
func (e AuthEntry) Credentials() (Credentials, error) {
	c := Credentials{Username: e.Username, Password: e.Password, IdentityToken: e.IdentityToken, RegistryToken: e.RegistryToken}
	if e.Auth == "" {
		return c, nil
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(e.Auth))
	if err != nil {
		return Credentials{}, fmt.Errorf("auth field: invalid base64: %w", err)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return Credentials{}, errors.New("auth field: not user:password")
	}
	c.Username, c.Password = user, strings.Trim(pass, "\x00")
	return c, nil
}

// entryFor encodes credentials as an "auths" entry, as Docker does.
func entryFor(c Credentials) AuthEntry {
	e := AuthEntry{IdentityToken: c.IdentityToken, RegistryToken: c.RegistryToken}
	if c.Username != "" || c.Password != "" {
		e.Auth = base64.StdEncoding.EncodeToString([]byte(c.Username + ":" + c.Password))
	}
	return e
}
