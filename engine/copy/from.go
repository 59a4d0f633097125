package copy

import (
	"context"
	"fmt"
	"io"
)

// FromOptions tunes FromContainerWith.
type FromOptions struct {
	// FollowLink copies what a symlink at the source path leads to
	// (resolved inside the root) under the link's own name: docker cp -L.
	FollowLink bool
}

// FromContainer writes srcPath of the container root filesystem rootfs to w
// as a tar stream, with Docker's naming: "dir" gives "dir/", "dir/...";
// "dir/." gives "./", "./..." (the contents); a symlink at srcPath is
// copied as a link unless srcPath ends in "/" or "/.". srcPath is resolved
// inside rootfs (see the package documentation). It returns the stat of
// what it copied, for the X-Docker-Container-Path-Stat header and for the
// receiving end (Stat.Source). A missing srcPath is ErrNotFound, and
// nothing is written then.
func FromContainer(ctx context.Context, rootfs, srcPath string, w io.Writer) (Stat, error) {
	return FromContainerWith(ctx, rootfs, srcPath, w, FromOptions{})
}

// FromContainerWith is FromContainer with options.
func FromContainerWith(ctx context.Context, rootfs, srcPath string, w io.Writer, o FromOptions) (Stat, error) {
	if err := ctx.Err(); err != nil {
		return Stat{}, err
	}
	r, err := openRoot(rootfs)
	if err != nil {
		return Stat{}, fmt.Errorf("copy from container: %w", err)
	}
	defer r.close()
	t, err := r.resolve(srcPath, o.FollowLink)
	if err != nil {
		return Stat{}, fmt.Errorf("copy from container: %w", err)
	}
	defer t.close()
	st, err := r.stat(t)
	if err != nil {
		return Stat{}, fmt.Errorf("copy from container: %w", err)
	}
	tw := newTarWriter(ctx, w)
	if err := tw.write(t.dirfd, t.base, &t.st, t.name); err != nil {
		return st, fmt.Errorf("copy %s from container: %w", t.abs, err)
	}
	if err := tw.close(); err != nil {
		return st, fmt.Errorf("copy %s from container: %w", t.abs, err)
	}
	return st, nil
}
