package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
)

// Keychain is an authn.Keychain over a Docker config directory. It reads
// the file at each Resolve, so a login in another process is seen.
type Keychain struct{ dir string }

// NewKeychain returns the keychain of dir ("" for DefaultDir).
func NewKeychain(dir string) *Keychain { return &Keychain{dir: dir} }

// Resolve implements authn.Keychain.
func (k *Keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), r)
}

// ResolveContext implements authn.ContextKeychain: the credentials of
// r's registry (Docker Hub's under DockerHubKey), anonymous if none.
func (k *Keychain) ResolveContext(ctx context.Context, r authn.Resource) (authn.Authenticator, error) {
	s, err := Open(k.dir)
	if err != nil {
		return nil, err
	}
	c, err := s.Get(ctx, r.RegistryStr())
	if errors.Is(err, ErrNotFound) {
		return authn.Anonymous, nil
	}
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %w", r.RegistryStr(), err)
	}
	return authn.FromConfig(authn.AuthConfig{
		Username:      c.Username,
		Password:      c.Password,
		IdentityToken: c.IdentityToken,
		RegistryToken: c.RegistryToken,
	}), nil
}
