package registry

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/distribution/distribution/v3/configuration"
)

// Options configure a registry server.
type Options struct {
	// Addr is the TCP address to listen on, host:port (port 0 picks one).
	Addr string
	// Root is the directory of the registry's storage (created if
	// missing).
	Root string
	// TLSCert and TLSKey, both set, make the server speak HTTPS.
	TLSCert, TLSKey string
	// Htpasswd, if set, is an htpasswd file (bcrypt entries) whose users
	// alone may use the registry.
	Htpasswd string
	// Logger receives the server's logs; nil means slog.Default().
	Logger *slog.Logger
}

// realm is the Basic auth realm the server announces.
const realm = "berth-registry"

// check refuses options that cannot work, before anything is opened.
func (o Options) check() error {
	if o.Root == "" {
		return errors.New("registry: no storage root given")
	}
	if o.Addr == "" {
		return errors.New("registry: no listen address given")
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return errors.New("registry: --tls-cert and --tls-key go together")
	}
	if o.Htpasswd != "" {
		// distribution writes a file with a random admin password when the
		// path is missing; berth refuses instead of inventing a user.
		st, err := os.Stat(o.Htpasswd)
		if err != nil {
			return fmt.Errorf("registry: htpasswd file: %w", err)
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("registry: htpasswd file %s is not a regular file", o.Htpasswd)
		}
	}
	return nil
}

// distributionConfig is the configuration of distribution's App for o:
// filesystem storage in Root, deletes enabled (content management needs
// them), no redirects, foreign layer URLs over http(s) accepted.
func (o Options) distributionConfig() (*configuration.Configuration, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("registry: upload secret: %w", err)
	}
	c := &configuration.Configuration{}
	c.Storage = configuration.Storage{
		"filesystem": configuration.Parameters{"rootdirectory": o.Root},
		"delete":     configuration.Parameters{"enabled": true},
		"redirect":   configuration.Parameters{"disable": true},
	}
	c.HTTP.Addr = o.Addr
	c.HTTP.Secret = hex.EncodeToString(secret)
	c.Validation.Manifests.URLs.Allow = []string{`^https?://`}
	if o.Htpasswd != "" {
		c.Auth = configuration.Auth{"htpasswd": configuration.Parameters{"realm": realm, "path": o.Htpasswd}}
	}
	return c, nil
}
