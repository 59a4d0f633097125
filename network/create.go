package network

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"time"

	bolt "go.etcd.io/bbolt"

	"berth/network/ipam"
)

// CreateOptions are `network create`'s flags.
type CreateOptions struct {
	Name     string
	Subnet   string // CIDR; empty: chosen from the pools
	Gateway  string // empty: the subnet's first host address
	Internal bool
	Labels   map[string]string
}

// Create makes a network record. Everything is checked before anything
// is written, and the overlap check and the write are one transaction.
func (s *Store) Create(o CreateOptions) (*Record, error) {
	if err := ValidateName(o.Name); err != nil {
		return nil, err
	}
	if IsPredefined(o.Name) {
		return nil, fmt.Errorf("operation is not permitted: %s %w", o.Name, ErrPredefined)
	}
	return s.create(o)
}

// Default returns the default network "bridge", creating it on first use
// with a subnet from the pools (172.17.0.0/16 unless taken).
func (s *Store) Default() (*Record, error) {
	r, err := s.Get(DefaultName)
	if err == nil || !errors.Is(err, ErrNotFound) {
		return r, err
	}
	r, err = s.create(CreateOptions{Name: DefaultName})
	if errors.Is(err, ErrExists) {
		// Another berth command made it meanwhile.
		return s.Get(DefaultName)
	}
	return r, err
}

func (s *Store) create(o CreateOptions) (*Record, error) {
	for k := range o.Labels {
		if k == "" {
			return nil, errors.New("invalid label: empty key")
		}
	}
	r := &Record{Name: o.Name, Driver: Driver, Internal: o.Internal, Labels: o.Labels, Created: time.Now().UTC()}
	if o.Subnet != "" {
		sub, err := ipam.ParseSubnet(o.Subnet)
		if err != nil {
			return nil, err
		}
		if r.Gateway, err = ipam.ParseGateway(sub, o.Gateway); err != nil {
			return nil, err
		}
		r.Subnet, r.UserSubnet = sub, true
	} else if o.Gateway != "" {
		return nil, errors.New("--gateway needs --subnet")
	}
	var routes []netip.Prefix
	if !r.UserSubnet {
		// Read before the transaction: it needs no lock, and a netlink
		// round trip should not hold other berth commands up.
		var err error
		if routes, err = s.routes(); err != nil {
			return nil, err
		}
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	r.ID, r.Bridge = id, BridgeName(r.Name, id)
	err = s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketNames).Get([]byte(r.Name)) != nil {
			return fmt.Errorf("network with name %s %w", r.Name, ErrExists)
		}
		others, err := all(tx)
		if err != nil {
			return err
		}
		if r.UserSubnet {
			for _, n := range others {
				if n.Subnet.Overlaps(r.Subnet) {
					return &OverlapError{Subnet: r.Subnet, Network: n.Name, Other: n.Subnet}
				}
			}
		} else {
			taken := append([]netip.Prefix{}, routes...)
			for _, n := range others {
				taken = append(taken, n.Subnet)
			}
			if r.Subnet, err = ipam.Choose(s.pools, taken); err != nil {
				return err
			}
			r.Gateway = ipam.FirstHost(r.Subnet)
		}
		return put(tx, r)
	})
	if err != nil {
		return nil, fmt.Errorf("create network %s: %w", r.Name, err)
	}
	return r, nil
}

// Remove deletes a network that has no leases.
func (s *Store) Remove(ref string) (*Record, error) {
	var r *Record
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		if r, err = resolve(tx, ref); err != nil {
			return err
		}
		if IsPredefined(r.Name) {
			return fmt.Errorf("%s %w and cannot be removed", r.Name, ErrPredefined)
		}
		leases := tx.Bucket(bucketLeases)
		if lb := leases.Bucket([]byte(r.ID)); lb != nil {
			held, err := r.Space().List(lb)
			if err != nil {
				return err
			}
			if len(held) > 0 {
				return fmt.Errorf("network %s id %s %w (%d containers)", r.Name, r.ID, ErrInUse, len(held))
			}
			if err := leases.DeleteBucket([]byte(r.ID)); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketNames).Delete([]byte(r.Name)); err != nil {
			return err
		}
		return tx.Bucket(bucketNetworks).Delete([]byte(r.ID))
	})
	if err != nil {
		return nil, fmt.Errorf("remove network %s: %w", ref, err)
	}
	return r, nil
}

// newID returns a random 64-hex network id.
func newID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("network id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// Prune removes every user network with no leases that keep says not to
// keep (nil keeps none), in one transaction, and returns what it removed.
func (s *Store) Prune(keep func(*Record) bool) ([]*Record, error) {
	var removed []*Record
	err := s.db.Update(func(tx *bolt.Tx) error {
		nets, err := all(tx)
		if err != nil {
			return err
		}
		for _, r := range nets {
			if IsPredefined(r.Name) || (keep != nil && keep(r)) {
				continue
			}
			leases := tx.Bucket(bucketLeases)
			if lb := leases.Bucket([]byte(r.ID)); lb != nil {
				held, err := r.Space().List(lb)
				if err != nil {
					return fmt.Errorf("network %s: %w", r.Name, err)
				}
				if len(held) > 0 {
					continue
				}
				if err := leases.DeleteBucket([]byte(r.ID)); err != nil {
					return err
				}
			}
			if err := tx.Bucket(bucketNames).Delete([]byte(r.Name)); err != nil {
				return err
			}
			if err := tx.Bucket(bucketNetworks).Delete([]byte(r.ID)); err != nil {
				return err
			}
			removed = append(removed, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("prune networks: %w", err)
	}
	return removed, nil
}
