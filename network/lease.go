package network

import (
	"errors"
	"fmt"
	"net/netip"

	bolt "go.etcd.io/bbolt"
)

// Lease is one container's address on one network.
type Lease struct {
	Network   string // network id
	Container string // container id
	Addr      netip.Addr
}

// Allocate gives containerID an address on network ref: fixed if valid
// (it must be in the subnet, not the gateway, not leased), else the next
// free one. A container that already holds a lease there gets it back.
func (s *Store) Allocate(ref, containerID string, fixed netip.Addr) (netip.Addr, *Record, error) {
	var a netip.Addr
	var r *Record
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		if r, err = resolve(tx, ref); err != nil {
			return err
		}
		b, err := tx.Bucket(bucketLeases).CreateBucketIfNotExists([]byte(r.ID))
		if err != nil {
			return err
		}
		a, err = r.Space().Allocate(b, containerID, fixed)
		if err != nil {
			return fmt.Errorf("network %s: %w", r.Name, err)
		}
		return nil
	})
	if err != nil {
		return netip.Addr{}, nil, fmt.Errorf("allocate address: %w", err)
	}
	return a, r, nil
}

// Release frees containerID's lease on network ref; releasing a lease
// that is not there (or on a network that is gone) is not an error.
func (s *Store) Release(ref, containerID string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		r, err := resolve(tx, ref)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		b := tx.Bucket(bucketLeases).Bucket([]byte(r.ID))
		if b == nil {
			return nil
		}
		_, _, err = r.Space().Release(b, containerID)
		return err
	})
	if err != nil {
		return fmt.Errorf("release address of %.12s: %w", containerID, err)
	}
	return nil
}

// ReleaseAll frees every lease of containerID, on every network, and
// returns what it freed.
func (s *Store) ReleaseAll(containerID string) ([]Lease, error) {
	return s.release(func(id string) bool { return id == containerID })
}

// Reconcile frees the leases of every container that gone says no longer
// exists (after a kill -9 or a reboot left them behind). gone is asked
// before the write transaction, once per container.
func (s *Store) Reconcile(gone func(containerID string) bool) ([]Lease, error) {
	held, err := s.Leases()
	if err != nil {
		return nil, err
	}
	dead := map[string]bool{}
	for _, l := range held {
		if _, asked := dead[l.Container]; !asked {
			dead[l.Container] = gone(l.Container)
		}
	}
	// Only the containers judged gone are freed: a lease taken meanwhile
	// by a new container is not in dead.
	return s.release(func(id string) bool { return dead[id] })
}

func (s *Store) release(match func(string) bool) ([]Lease, error) {
	var freed []Lease
	err := s.db.Update(func(tx *bolt.Tx) error {
		return eachHeld(tx, func(r *Record, b *bolt.Bucket, c string, _ netip.Addr) error {
			if !match(c) {
				return nil
			}
			a, ok, err := r.Space().Release(b, c)
			if ok {
				freed = append(freed, Lease{Network: r.ID, Container: c, Addr: a})
			}
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("release addresses: %w", err)
	}
	return freed, nil
}

// Leases returns every lease on every network.
func (s *Store) Leases() ([]Lease, error) {
	var out []Lease
	err := s.db.View(func(tx *bolt.Tx) error {
		return eachHeld(tx, func(r *Record, _ *bolt.Bucket, c string, a netip.Addr) error {
			out = append(out, Lease{Network: r.ID, Container: c, Addr: a})
			return nil
		})
	})
	return out, err
}

// eachHeld calls fn for every lease on every network, with the network's
// lease bucket.
func eachHeld(tx *bolt.Tx, fn func(r *Record, b *bolt.Bucket, container string, a netip.Addr) error) error {
	nets, err := all(tx)
	if err != nil {
		return err
	}
	for _, r := range nets {
		b := tx.Bucket(bucketLeases).Bucket([]byte(r.ID))
		if b == nil {
			continue
		}
		held, err := r.Space().List(b)
		if err != nil {
			return fmt.Errorf("network %s: %w", r.Name, err)
		}
		for c, a := range held {
			if err := fn(r, b, c, a); err != nil {
				return err
			}
		}
	}
	return nil
}

// LeaseOf returns containerID's address on network ref, if it has one.
func (s *Store) LeaseOf(ref, containerID string) (netip.Addr, bool, error) {
	var a netip.Addr
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		r, err := resolve(tx, ref)
		if err != nil {
			return err
		}
		b := tx.Bucket(bucketLeases).Bucket([]byte(r.ID))
		if b == nil {
			return nil
		}
		a, ok, err = r.Space().Get(b, containerID)
		return err
	})
	return a, ok, err
}
