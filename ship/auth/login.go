package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ErrUnauthorized reports credentials a registry refused.
var ErrUnauthorized = errors.New("unauthorized: incorrect username or password")

// Verify logs in to the registry host (host[:port]) with c: it pings
// /v2/, follows the challenge (Basic: credentials on each request;
// Bearer: a token from the realm, which checks them) and requires /v2/ to
// answer 200 with them. rt reaches the registry (TLS set up, scheme
// chosen); insecure allows plain HTTP when HTTPS fails, without it nothing
// goes to the registry, nor credentials anywhere, over plain HTTP.
func Verify(ctx context.Context, host string, c Credentials, rt http.RoundTripper, insecure bool) error {
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, opts...)
	if err != nil {
		return fmt.Errorf("registry %q: %w", host, err)
	}
	if rt == nil {
		rt = http.DefaultTransport
	}
	if !insecure {
		rt = tlsOnly{host: reg.RegistryStr(), inner: rt}
	}
	a := authn.FromConfig(authn.AuthConfig{Username: c.Username, Password: c.Password, IdentityToken: c.IdentityToken, RegistryToken: c.RegistryToken})
	tr, err := transport.NewWithContext(ctx, reg, a, rt, nil)
	if err != nil {
		return classify(host, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s://%s/v2/", reg.Scheme(), reg.RegistryStr()), nil)
	if err != nil {
		return fmt.Errorf("login to %s: %w", host, err)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return classify(host, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("login to %s: %w", host, ErrUnauthorized)
	}
	return fmt.Errorf("login to %s: GET /v2/: unexpected status %s", host, resp.Status)
}

// classify turns a registry's refusal into ErrUnauthorized.
func classify(host string, err error) error {
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		return fmt.Errorf("login to %s: %w", host, ErrUnauthorized)
	}
	return fmt.Errorf("login to %s: %w", host, err)
}
