package engine

import (
	"context"
	"fmt"

	"berth/image"
)

// ImagesFor returns the image store whose snapshotter holds c's rootfs:
// the one c was created with, which a later command's --snapshotter (or
// its absence) must not change. release closes a store opened for it.
func (e *Engine) ImagesFor(ctx context.Context, c *Container) (_ *image.Store, release func(), _ error) {
	if _, name := e.images.Snapshots(); c.Snapshotter == "" || c.Snapshotter == name {
		return e.images, func() {}, nil
	}
	s, err := image.Open(ctx, e.root, image.Options{Snapshotter: c.Snapshotter})
	if err != nil {
		return nil, nil, fmt.Errorf("container %s: its snapshotter %s: %w", c.Name, c.Snapshotter, err)
	}
	return s, func() { _ = s.Close() }, nil
}
