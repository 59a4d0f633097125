package network

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"

	"berth/internal/boltfile"
	"berth/network/ipam"
)

// Buckets of networks.db.
var (
	bucketNetworks = []byte("networks") // id -> Record (JSON)
	bucketNames    = []byte("names")    // name -> id
	bucketLeases   = []byte("leases")   // id -> ipam lease bucket
)

var (
	// ErrNotFound says no network matches a name or id.
	ErrNotFound = errors.New("not found")
	// ErrExists says a network of that name exists.
	ErrExists = errors.New("already exists")
	// ErrInUse says a network still has containers (leases).
	ErrInUse = errors.New("has active endpoints")
	// ErrOverlap says a subnet overlaps another network's (see
	// OverlapError).
	ErrOverlap = errors.New("subnet overlaps another network")
	// ErrPredefined says an operation is not allowed on a built-in network.
	ErrPredefined = errors.New("is a pre-defined network")
)

// OverlapError says a requested subnet overlaps network Network's.
type OverlapError struct {
	Subnet  netip.Prefix
	Network string
	Other   netip.Prefix
}

// Error says which network is in the way.
func (e *OverlapError) Error() string {
	return fmt.Sprintf("subnet %s overlaps with network %s (subnet %s)", e.Subnet, e.Network, e.Other)
}

// Is makes errors.Is(err, ErrOverlap) true.
func (e *OverlapError) Is(target error) bool { return target == ErrOverlap }

// Options configure a Store; zero values mean the defaults.
type Options struct {
	// Pools are the address pools for networks without --subnet
	// (ipam.DefaultPools when nil; see internal/config).
	Pools []ipam.Pool
	// Routes lists the host's routes (ipam.HostRoutes when nil); tests
	// inject theirs.
	Routes ipam.RouteLister
}

// Store is the network database of one berth root.
type Store struct {
	db     boltfile.File
	pools  []ipam.Pool
	routes ipam.RouteLister
}

// Open opens (creating if needed) <root>/networks/networks.db.
func Open(root string, o Options) (*Store, error) {
	dir := filepath.Join(root, "networks")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("network store: %w", err)
	}
	// The file and its buckets are made by the first transaction.
	s := &Store{db: boltfile.File{Path: filepath.Join(dir, "networks.db"),
		Buckets: [][]byte{bucketNetworks, bucketNames, bucketLeases}}, pools: o.Pools, routes: o.Routes}
	if s.pools == nil {
		s.pools = ipam.DefaultPools()
	}
	if s.routes == nil {
		s.routes = ipam.HostRoutes
	}
	return s, nil
}

// getByID reads one record.
func getByID(tx *bolt.Tx, id string) (*Record, error) {
	v := tx.Bucket(bucketNetworks).Get([]byte(id))
	if v == nil {
		return nil, fmt.Errorf("network %.12s %w", id, ErrNotFound)
	}
	return decodeRecord(v)
}

// all reads every record. A damaged record is an error: skipping it would
// let its subnet be handed out again.
func all(tx *bolt.Tx) ([]*Record, error) {
	var out []*Record
	err := tx.Bucket(bucketNetworks).ForEach(func(k, v []byte) error {
		r, err := decodeRecord(v)
		if err != nil {
			return fmt.Errorf("%.12s: %w", k, err)
		}
		if r.ID != string(k) {
			return fmt.Errorf("network record under key %.12s has id %.12s", k, r.ID)
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// put stores a record and its name.
func put(tx *bolt.Tx, r *Record) error {
	b, err := encodeRecord(r)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketNetworks).Put([]byte(r.ID), b); err != nil {
		return fmt.Errorf("store network %s: %w", r.Name, err)
	}
	if err := tx.Bucket(bucketNames).Put([]byte(r.Name), []byte(r.ID)); err != nil {
		return fmt.Errorf("store network %s: %w", r.Name, err)
	}
	return nil
}

// resolve finds a network by full id, name, or unique id prefix, in that
// order (as Docker).
func resolve(tx *bolt.Tx, ref string) (*Record, error) {
	if ref == "" {
		return nil, fmt.Errorf("network with an empty name %w", ErrNotFound)
	}
	nets := tx.Bucket(bucketNetworks)
	if validID.MatchString(ref) && nets.Get([]byte(ref)) != nil {
		return getByID(tx, ref)
	}
	if id := tx.Bucket(bucketNames).Get([]byte(ref)); id != nil {
		return getByID(tx, string(id))
	}
	if !isHex(ref) {
		return nil, fmt.Errorf("network %s %w", ref, ErrNotFound)
	}
	var found string
	c := nets.Cursor()
	for k, _ := c.Seek([]byte(ref)); k != nil && len(k) >= len(ref) && string(k[:len(ref)]) == ref; k, _ = c.Next() {
		if found != "" {
			return nil, fmt.Errorf("network %s is ambiguous (2 or more matches)", ref)
		}
		found = string(k)
	}
	if found == "" {
		return nil, fmt.Errorf("network %s %w", ref, ErrNotFound)
	}
	return getByID(tx, found)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return len(s) > 0 && len(s) <= 64
}

// Get finds a network by id, name or unique id prefix.
func (s *Store) Get(ref string) (*Record, error) {
	var r *Record
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		r, err = resolve(tx, ref)
		return err
	})
	return r, err
}

// List returns every network, in id order.
func (s *Store) List() ([]*Record, error) {
	var out []*Record
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = all(tx)
		return err
	})
	return out, err
}
