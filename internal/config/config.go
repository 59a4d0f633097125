// Package config loads berth's configuration file, /etc/berth/berth.json
// (or the file BERTH_CONFIG names). It is JSON in the shape of Docker's
// daemon.json for the keys berth knows; a missing file means defaults.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"net/url"
	"os"
	"strings"

	"berth/network/ipam"
)

// DefaultPath is where berth looks for its configuration file.
const DefaultPath = "/etc/berth/berth.json"

// EnvPath names the environment variable that overrides DefaultPath.
const EnvPath = "BERTH_CONFIG"

// maxSize bounds the file read: a configuration is a few hundred bytes.
const maxSize = 1 << 20

// Config is berth's configuration.
type Config struct {
	// AddressPools are the pools new networks' subnets are chosen from,
	// in order; ipam.DefaultPools when the file sets none.
	AddressPools []ipam.Pool
	// InsecureRegistries are registries (host[:port], or a CIDR of
	// addresses) the registry client may reach over plain HTTP or with an
	// unverified certificate; loopback is always allowed, as Docker does.
	InsecureRegistries []string
	// RegistryMirrors are URLs tried before Docker Hub for docker.io
	// images.
	RegistryMirrors []string
	// CertsDir holds per-registry TLS material, <dir>/<host[:port]>/ca.crt
	// (and client.cert, client.key), as Docker's /etc/docker/certs.d.
	CertsDir string
}

// DefaultCertsDir is CertsDir when the file sets none.
const DefaultCertsDir = "/etc/berth/certs.d"

// file is the JSON form; unknown keys are refused so a misspelt key is an
// error instead of a setting silently ignored.
type file struct {
	DefaultAddressPools []poolJSON `json:"default-address-pools"`
	InsecureRegistries  []string   `json:"insecure-registries"`
	RegistryMirrors     []string   `json:"registry-mirrors"`
	CertsDir            string     `json:"certs-dir"`
}

type poolJSON struct {
	Base string `json:"base"`
	Size int    `json:"size"`
}

// Path returns the configuration file to read: $BERTH_CONFIG if set, else
// DefaultPath.
func Path() string {
	if p := os.Getenv(EnvPath); p != "" {
		return p
	}
	return DefaultPath
}

// Load reads the configuration at path ("" means Path()). A missing file
// gives the defaults.
func Load(path string) (*Config, error) {
	if path == "" {
		path = Path()
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Parse(nil)
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if len(data) > maxSize {
		return nil, fmt.Errorf("config %s: larger than %d bytes", path, maxSize)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes a configuration file's contents; empty (or only
// whitespace) gives the defaults.
func Parse(data []byte) (*Config, error) {
	c := &Config{AddressPools: ipam.DefaultPools(), CertsDir: DefaultCertsDir}
	if len(bytes.TrimSpace(data)) == 0 {
		return c, nil
	}
	var f file
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if dec.More() {
		return nil, errors.New("parse: trailing data after the JSON object")
	}
	if err := f.registries(c); err != nil {
		return nil, err
	}
	if f.DefaultAddressPools == nil {
		return c, nil
	}
	if len(f.DefaultAddressPools) == 0 {
		return nil, errors.New(`"default-address-pools" is empty: remove the key for the defaults`)
	}
	pools := make([]ipam.Pool, 0, len(f.DefaultAddressPools))
	for i, p := range f.DefaultAddressPools {
		pool, err := ipam.ParsePool(p.Base, p.Size)
		if err != nil {
			return nil, fmt.Errorf(`"default-address-pools"[%d]: %w`, i, err)
		}
		pools = append(pools, pool)
	}
	c.AddressPools = pools
	return c, nil
}

// registries copies and checks the registry client's keys.
func (f *file) registries(c *Config) error {
	for i, r := range f.InsecureRegistries {
		if r == "" || strings.ContainsAny(r, " \t\n") {
			return fmt.Errorf(`"insecure-registries"[%d]: empty or malformed %q`, i, r)
		}
		if strings.Contains(r, "://") {
			return fmt.Errorf(`"insecure-registries"[%d]: %q: give host[:port] or a CIDR, not a URL`, i, r)
		}
		if strings.Contains(r, "/") {
			if _, err := netip.ParsePrefix(r); err != nil {
				return fmt.Errorf(`"insecure-registries"[%d]: %w`, i, err)
			}
		}
	}
	for i, m := range f.RegistryMirrors {
		u, err := url.Parse(m)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf(`"registry-mirrors"[%d]: %q: want an http or https URL`, i, m)
		}
	}
	c.InsecureRegistries = f.InsecureRegistries
	c.RegistryMirrors = f.RegistryMirrors
	if f.CertsDir != "" {
		c.CertsDir = f.CertsDir
	}
	return nil
}
