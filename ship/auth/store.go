package auth

import (
	"context"
	"errors"
	"fmt"
)

// Store reads and writes the credentials of one config directory.
type Store struct {
	dir  string
	file *ConfigFile
}

// Open loads dir/config.json ("" for DefaultDir).
func Open(dir string) (*Store, error) {
	if dir == "" {
		d, err := DefaultDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	f, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	return &Store{dir: dir, file: f}, nil
}

// Dir is the config directory of s.
func (s *Store) Dir() string { return s.dir }

// Get returns server's credentials, ErrNotFound if none are stored.
func (s *Store) Get(ctx context.Context, server string) (Credentials, error) {
	if h := s.file.helperFor(server); h != "" {
		c, err := helper{h}.get(ctx, Key(server))
		// Docker Hub entries may be filed under a bare host by other tools.
		if errors.Is(err, ErrNotFound) && Key(server) != Hostname(server) {
			c, err = helper{h}.get(ctx, Hostname(server))
		}
		return c, err
	}
	key, e, ok := s.file.findAuth(server)
	if !ok {
		return Credentials{}, ErrNotFound
	}
	c, err := e.Credentials()
	if err != nil {
		return Credentials{}, fmt.Errorf("config.json auths[%q]: %w", key, err)
	}
	if c.Empty() {
		return Credentials{}, ErrNotFound
	}
	return c, nil
}

// Put stores server's credentials: in its helper if one is configured
// (the file then keeps an empty entry, as Docker does), else base64 in
// the file. The file is saved either way.
func (s *Store) Put(ctx context.Context, server string, c Credentials) error {
	key := Key(server)
	if h := s.file.helperFor(server); h != "" {
		if err := (helper{h}).store(ctx, key, c); err != nil {
			return err
		}
		if s.file.CredsStore == h {
			s.file.Auths[key] = AuthEntry{}
		}
		return s.file.Save(s.dir)
	}
	if old, _, ok := s.file.findAuth(server); ok && old != key {
		delete(s.file.Auths, old)
	}
	s.file.Auths[key] = entryFor(c)
	return s.file.Save(s.dir)
}

// Erase removes server's credentials; ErrNotFound if there were none.
func (s *Store) Erase(ctx context.Context, server string) error {
	found := false
	if h := s.file.helperFor(server); h != "" {
		err := (helper{h}).erase(ctx, Key(server))
		switch {
		case err == nil:
			found = true
		case !errors.Is(err, ErrNotFound):
			return err
		}
	}
	for {
		key, _, ok := s.file.findAuth(server)
		if !ok {
			break
		}
		delete(s.file.Auths, key)
		found = true
	}
	if !found {
		return ErrNotFound
	}
	return s.file.Save(s.dir)
}
