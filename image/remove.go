package image

import (
	"context"
	"fmt"

	"github.com/opencontainers/go-digest"
)

// RemoveOptions tune Remove.
type RemoveOptions struct {
	// Force removes an image a container uses, or every name of an ID
	// given by ID.
	Force bool
}

// Remove removes names the way `docker rmi` does, and returns the names
// it removed (familiar form); the content goes with the next GC.
//
// Given a name, that name is removed; if it was the image's last name and
// a container's rootfs was made from the image, only with Force (the
// container keeps its layers either way). Given an image ID, every name of
// that image is removed, which needs Force when there are several or when
// a container uses it.
func (s *Store) Remove(ctx context.Context, arg string, o RemoveOptions) ([]string, error) {
	imgs, err := s.Resolve(ctx, arg)
	if err != nil {
		return nil, err
	}
	id, err := s.ID(ctx, imgs[0])
	if err != nil {
		return nil, err
	}
	byID := IsDigestLike(arg) && !isName(imgs, arg)
	names, err := s.namesOf(ctx, id)
	if err != nil {
		return nil, err
	}
	if byID && len(names) > 1 && !o.Force {
		return nil, fmt.Errorf("unable to delete %s (must be forced): image is referenced in %d names", id.Encoded()[:12], len(names))
	}
	last := byID || len(names) <= 1
	if last && !o.Force {
		users, err := s.rootfsesOf(ctx, id)
		if err != nil {
			return nil, err
		}
		if len(users) > 0 {
			return nil, fmt.Errorf("unable to remove %s: used by container rootfs %s: %w (use --force)", arg, users[0], ErrInUse)
		}
	}
	var removed []string
	for _, img := range imgs {
		if err := s.Untag(ctx, img); err != nil {
			return removed, err
		}
		removed = append(removed, displayName(img))
	}
	return removed, nil
}

// isName tells whether arg, hex as it is, is also the name of one of imgs
// (an image may be called "abc").
func isName(imgs []Image, arg string) bool {
	ref, err := ParseRef(arg)
	if err != nil {
		return false
	}
	for _, img := range imgs {
		if img.Name.String() == ref.String() {
			return true
		}
	}
	return false
}

// namesOf lists the names whose image has ID id.
func (s *Store) namesOf(ctx context.Context, id digest.Digest) ([]Ref, error) {
	all, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []Ref
	for _, img := range all {
		if other, err := s.ID(ctx, img); err == nil && other == id {
			out = append(out, img.Name)
		}
	}
	return out, nil
}

// rootfsesOf lists the rootfs keys made from image id.
func (s *Store) rootfsesOf(ctx context.Context, id digest.Digest) ([]string, error) {
	all, err := s.Rootfses(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range all {
		if r.ImageID == id.String() {
			out = append(out, r.Key)
		}
	}
	return out, nil
}
